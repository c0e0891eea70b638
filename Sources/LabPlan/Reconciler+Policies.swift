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
    /// The loads of `rules` that are byte for byte what they were (`<netns>.<fileExtension>`,
    /// as `rules/` names them): a change of policies alone knows it, and need not write a
    /// node's unchanged rules again.
    public var rulesKept: Set<String> = []
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
                         rulesScope: scope, onlyPolicies: old.policy?.namespaces == new.policy?.namespaces,
                         rulesKept: keptLoads(before: before, after: after))
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
            let pods = topology.pods
            let selected = PodGroups(pods).pods { group in
                policies.contains { PolicyEvaluator.selects($0, namespace: group.namespace, labels: group.labels) }
            }
            for index in selected { nodes.insert(pods[index].node) }
        }
        return nodes
    }
}

extension Reconciler {
    /// As `policyChange(from:to:)`, with each changed node's whole rules before the change as
    /// `saved` gives them (what `rules/` keeps: `saved(netns, loader)`, nil for no such load)
    /// instead of rendered again: the new rules are the old with their policy part replaced
    /// (`PolicyRulesSplice`), so neither kube-proxy's rules — most of a node's — nor the old
    /// policies' are rendered. nil when anything else changed, or when a saved load is missing
    /// or not of the renderer's shape; `policyChange(from:to:)` then renders both sides.
    public static func policyChange(from old: Topology, to new: Topology,
                                    saved: (String, FirewallLoader) -> String?) -> LabChange? {
        var same = old
        same.policy = new.policy
        guard same == new, old.policy != nil, new.policy != nil else { return nil }
        let changed = nodesWithChangedPolicies(from: old, to: new) ?? Set(new.nodes.map(\.name))
        let nodes = new.nodes.filter { changed.contains($0.name) }
        let layouts = PolicyLayout.Shared(topology: new, eager: false)
        var before: [KernelOperation] = [], after: [KernelOperation] = []
        // An nftables node's loss rules are an `iptables-restore` load of their own, kept in the
        // same `rules/` file as its `nft` input: that file cannot tell which it holds.
        let lossy = new.proxy == .nftables ? Set(ImpairmentPlan.lossRules(new).map(\.namespace)) : []
        for node in nodes {
            let layout = layouts.layout(of: node)
            switch new.proxy {
            case .iptables:
                guard let rules = saved(node.netns, .iptablesRestore),
                      let spliced = PolicyRulesSplice.iptables(rules, with: PolicyRulesSplice.IPTablesPart(layout, topology: new))
                else { return nil }
                let oldSets = saved(node.netns, .ipset) ?? "", newSets = layout.map { NetworkPolicyIPTables.ipsets($0.sets).text } ?? ""
                if !oldSets.isEmpty { before.append(.loadFirewall(netns: node.netns, loader: .ipset, rules: oldSets)) }
                if !newSets.isEmpty { after.append(.loadFirewall(netns: node.netns, loader: .ipset, rules: newSets)) }
                before.append(.loadFirewall(netns: node.netns, loader: .iptablesRestore, rules: rules))
                after.append(.loadFirewall(netns: node.netns, loader: .iptablesRestore, rules: spliced))
            case .nftables:
                guard !lossy.contains(node.netns), let rules = saved(node.netns, .nft),
                      let spliced = PolicyRulesSplice.nftables(rules, with: layout.map { NetworkPolicyNFTables.render($0, topology: new) })
                else { return nil }
                before.append(.loadFirewall(netns: node.netns, loader: .nft, rules: rules))
                after.append(.loadFirewall(netns: node.netns, loader: .nft, rules: spliced))
            }
        }
        let operations = FirewallDiff.operations(before: before, after: after, added: [], staying: Set(new.allNetns))
        return LabChange(plan: Plan(lab: new.lab, operations: operations, incremental: true), rules: after,
                         rulesScope: Set(nodes.map(\.netns)), onlyPolicies: old.policy?.namespaces == new.policy?.namespaces,
                         rulesKept: keptLoads(before: before, after: after))
    }

    /// The files of `after` that `before` has as they are, named as `LabChange.rulesKept`. Two
    /// loads may share a file (an nftables node's `nft` input and its loss rules): as
    /// `rules/` keeps them, the last one is the file's.
    static func keptLoads(before: [KernelOperation], after: [KernelOperation]) -> Set<String> {
        func files(_ loads: [KernelOperation]) -> [String: String] {
            Dictionary(FirewallDiff.loads(loads).ordered.map { ("\($0.key.netns).\($0.key.loader.fileExtension)", $0.rules) },
                       uniquingKeysWith: { _, last in last })
        }
        let old = files(before)
        return Set(files(after).filter { old[$0.key] == $0.value }.keys)
    }
}
