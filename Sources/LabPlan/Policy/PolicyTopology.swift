import LabSpec

/// What a lab's NetworkPolicies need once the lab is settled: every Kubernetes namespace with
/// its labels, and the policies as the file wrote them (defaults applied). Kept in the
/// topology so `status`, a reconcile and the rule renderers read the policies in force.
public struct PolicyTopology: Sendable, Hashable, Codable {
    public var namespaces: [NamespaceSpec]
    public var policies: [NetworkPolicySpec]

    public init(namespaces: [NamespaceSpec], policies: [NetworkPolicySpec]) {
        self.namespaces = namespaces
        self.policies = policies
    }
}

extension PolicyEvaluator {
    /// The evaluator of a settled lab (no policy: every pair allowed).
    public init(topology: Topology) {
        self.init(topology: topology, policies: topology.policy?.policies ?? [], namespaces: topology.policy?.namespaces ?? [])
    }
}
