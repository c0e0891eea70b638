import LabKernel
import LabPlan
import LabSpec

extension ProbeTask {
    /// The task for a probe `ProbeResolver` (or `ModelCheck`) resolved, run from `namespace`
    /// — the opened `resolved.fromNetns`; nil runs it in the caller's own namespace.
    ///
    /// Retries are at least 1: a brand-new veth may drop the first packet (measured.md,
    /// pitfall 5), and a lab file's default of 0 would turn that into a failed probe.
    public init(_ resolved: ResolvedProbe, namespace: NetworkNamespace?) {
        let port = resolved.port ?? resolved.kind.port ?? 0
        let endpoint = resolved.address.map { ProbeEndpoint(address: $0, port: port) }
        self.init(name: resolved.name, from: resolved.from, to: resolved.to, group: resolved.group, namespace: namespace,
                  endpoint: endpoint, action: ProbeAction(resolved.kind), expectation: resolved.expect,
                  repeatCount: resolved.repeatCount, timeout: .milliseconds(resolved.timeoutMilliseconds),
                  retries: max(1, resolved.retries), lookup: resolved.lookup.map { NameLookup($0, port: port) })
    }
}
