/// The ordered list of kernel operations that builds a topology. Order matters only where the
/// kernel needs it: namespaces before anything in them, a link before its address, an address
/// and `up` before a route through it.
public struct Plan: Sendable, Hashable {
    public var lab: String
    public var operations: [KernelOperation]

    public init(lab: String, operations: [KernelOperation]) {
        self.lab = lab
        self.operations = operations
    }

    public var namespaces: [String] {
        operations.compactMap { if case .createNamespace(let name) = $0 { return name } else { return nil } }
    }
}
