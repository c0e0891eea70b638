/// The ordered list of kernel operations that builds a topology. Order matters only where the
/// kernel needs it: namespaces before anything in them, a link before its address, an address
/// and `up` before a route through it.
public struct Plan: Sendable, Hashable {
    public var lab: String
    public var operations: [KernelOperation]
    /// A reconcile plan (`Reconciler`): it changes a lab that is up, so it also re-applies
    /// settings that may still be there — an address, route or FDB entry that exists already
    /// counts as done (`ip … replace` in the dry-run script).
    public var incremental: Bool

    public init(lab: String, operations: [KernelOperation], incremental: Bool = false) {
        self.lab = lab
        self.operations = operations
        self.incremental = incremental
    }

    public var namespaces: [String] {
        operations.compactMap { if case .createNetns(let name) = $0 { return name } else { return nil } }
    }
}

extension Plan {
    /// "2 namespaces added, 1 removed, 14 kernel operations" — what a reconcile plan does.
    public var changeSummary: String {
        let added = namespaces.count
        let removed = operations.filter { if case .deleteNetns = $0 { return true } else { return false } }.count
        let firewall = operations.filter { if case .loadFirewall = $0 { return true } else { return false } }.count
        var parts = ["\(added) namespace\(added == 1 ? "" : "s") added", "\(removed) removed"]
        if firewall > 0 { parts.append("service rules synced on \(firewall) node\(firewall == 1 ? "" : "s")") }
        parts.append("\(operations.count) kernel operation\(operations.count == 1 ? "" : "s")")
        return parts.joined(separator: ", ")
    }
}
