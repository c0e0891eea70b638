/// Service rules of a changed lab, loaded the way kube-proxy's partial sync loads them: only
/// the chains (and sets, maps) that changed are rewritten, in one transaction per node, so
/// every other chain keeps its rules' counters and an nftables chain its rule handles.
enum FirewallDiff {
    /// The firewall loads that take each node from its `before` rules to its `after` rules.
    /// Nodes that are new (`added`) get their whole rules; unchanged nodes get nothing.
    static func operations(before: [KernelOperation], after: [KernelOperation], added: Set<String>) -> [KernelOperation] {
        let old = loads(before), new = loads(after)
        var operations: [KernelOperation] = []
        for (namespace, load) in new.ordered {
            guard !added.contains(namespace), let previous = old.byNamespace[namespace] else {
                operations.append(.loadFirewall(namespace: namespace, loader: load.loader, rules: load.rules))
                continue
            }
            guard previous != load else { continue }
            if previous.loader == load.loader {
                operations.append(.loadFirewall(namespace: namespace, loader: load.loader,
                                                rules: change(load.loader, from: previous.rules, to: load.rules)))
            } else {
                // The proxy mode changed: the old mode's rules go, the new mode's come whole.
                operations.append(.loadFirewall(namespace: namespace, loader: previous.loader,
                                                rules: change(previous.loader, from: previous.rules, to: "")))
                operations.append(.loadFirewall(namespace: namespace, loader: load.loader, rules: load.rules))
            }
        }
        // Nodes that stay but lost their last service.
        let staying = Set(after.compactMap { operation -> String? in
            if case .createNamespace(let name) = operation { return name } else { return nil }
        })
        for (namespace, previous) in old.ordered where new.byNamespace[namespace] == nil && staying.contains(namespace) {
            operations.append(.loadFirewall(namespace: namespace, loader: previous.loader,
                                            rules: change(previous.loader, from: previous.rules, to: "")))
        }
        return operations
    }

    /// The input for `loader` that turns `old` (loaded) into `new`.
    static func change(_ loader: FirewallLoader, from old: String, to new: String) -> String {
        switch loader {
        case .iptablesRestore: return IPTablesRestoreDiff.change(from: old, to: new)
        case .nft: return NFTablesDiff.change(from: old, to: new)
        }
    }

    struct Load: Equatable {
        var loader: FirewallLoader
        var rules: String
    }

    static func loads(_ operations: [KernelOperation]) -> (ordered: [(String, Load)], byNamespace: [String: Load]) {
        var ordered: [(String, Load)] = []
        for case .loadFirewall(let namespace, let loader, let rules) in operations {
            ordered.append((namespace, Load(loader: loader, rules: rules)))
        }
        return (ordered, Dictionary(ordered, uniquingKeysWith: { _, last in last }))
    }
}
