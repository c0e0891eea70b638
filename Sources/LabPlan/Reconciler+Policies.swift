/// What `Reconciler` worked out: the plan of the change, and the whole firewall rules of the
/// nodes it changes, as a build would have loaded them (what `/run/lab/<lab>/rules/` keeps).
public struct LabChange: Sendable, Hashable {
    public var plan: Plan
    /// The whole firewall loads afterwards of the namespaces in `rulesScope`, in plan order.
    public var rules: [KernelOperation]
    /// The namespaces `rules` speaks for (those without a load there have none); nil: every
    /// namespace.
    public var rulesScope: Set<String>?
    /// Nothing but the NetworkPolicies changed (or nothing at all): no pod, container,
    /// service or namespace (the cluster DNS knows the namespaces), so nothing the supervisor
    /// serves and no pod's `resolv.conf`.
    public var onlyPolicies: Bool
}

extension Reconciler {
    /// The change of a lab whose file changed only its `networkPolicies`, without planning
    /// either lab: nil when anything else changed.
    ///
    /// A node's firewall rules are a function of the rest of the topology — the same before
    /// and after — and of its policy layout (`PolicyLayout`): the pods of the node some policy
    /// selects, each with its selecting policies in file order, and those policies' chains and
    /// sets. A policy that is in both lists, unchanged, selects the same pods and has the same
    /// chains and sets (they depend on its spec, the pods and the namespaces only). So a node
    /// whose pods no changed policy selects — before or after — keeps its layout, and its
    /// rules; only the other nodes' rules are rendered, old and new, and diffed as a whole
    /// plan's would be (`FirewallDiff`). When the namespaces (their labels) changed, or the
    /// unchanged policies were reordered, every node's rules are rendered, still without the
    /// rest of the plans. Nothing else of the plans differs, and with the same pods and
    /// services there is no stale neighbour to forget and no conntrack flow to flush.
    static func policyChange(from old: Topology, to new: Topology) -> LabChange? {
        var same = old
        same.policy = new.policy
        guard same == new else { return nil }
        let nodes = nodesWithChangedPolicies(from: old, to: new) ?? Set(new.nodes.map(\.name))
        // The services are the same: their rendered lines serve both labs.
        let oldRules = SharedNodeRules(topology: old, renderingFewNodes: true)
        let newRules = SharedNodeRules(topology: new, renderingFewNodes: true, servicesOf: oldRules)
        let before = Planner.firewallLoads(old, nodes: nodes, shared: oldRules)
        let after = Planner.firewallLoads(new, nodes: nodes, shared: newRules)
        let operations = FirewallDiff.operations(before: before, after: after, added: [], staying: Set(new.allNetns))
        let scope = Set(new.nodes.filter { nodes.contains($0.name) }.map(\.netns))
        return LabChange(plan: Plan(lab: new.lab, operations: operations, incremental: true), rules: after,
                         rulesScope: scope, onlyPolicies: old.policy?.namespaces == new.policy?.namespaces)
    }

    /// The nodes with a pod that a policy only in `old`, or only in `new`, selects (a changed
    /// policy is both); nil when every node's layout may have changed: a lab that gains or
    /// loses its policies, changed namespaces, or unchanged policies in another order.
    static func nodesWithChangedPolicies(from old: Topology, to new: Topology) -> Set<String>? {
        guard let was = old.policy, let now = new.policy, was.namespaces == now.namespaces else { return nil }
        let before = Set(was.policies), after = Set(now.policies)
        guard was.policies.filter(after.contains) == now.policies.filter(before.contains) else { return nil }
        var nodes = Set<String>()
        for (topology, policies) in [(old, was.policies.filter { !after.contains($0) }), (new, now.policies.filter { !before.contains($0) })]
        where !policies.isEmpty {
            let evaluator = PolicyEvaluator(topology: topology)
            for pod in topology.pods where policies.contains(where: { evaluator.selects($0, pod) }) {
                nodes.insert(pod.node)
            }
        }
        return nodes
    }
}
