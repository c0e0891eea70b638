/// Firewall rules of a changed lab, loaded the way kube-proxy's partial sync loads them: only
/// the chains (and sets, maps) that changed are rewritten, in one transaction per node and
/// loader, so every other chain keeps its rules' counters and an nftables chain its rule
/// handles. A node may have several loads (the ipsets, then the rules that match them); each is
/// diffed against the same loader's previous load.
enum FirewallDiff {
    /// The firewall loads that take each node from its `before` rules to its `after` rules.
    /// Nodes that are new (`added`) get their whole rules; unchanged loads give nothing.
    /// `staying`: the namespaces that exist afterwards (nil: those `after` creates).
    static func operations(before: [KernelOperation], after: [KernelOperation], added: Set<String>,
                           staying: Set<String>? = nil) -> [KernelOperation] {
        let old = loads(before), new = loads(after)
        var operations: [KernelOperation] = []
        // Sets that are gone can only be destroyed once no rule matches them any more.
        var lastly: [KernelOperation] = []
        for (key, load) in new.ordered {
            guard !added.contains(key.netns), let previous = old.byKey[key] else {
                operations.append(.loadFirewall(netns: key.netns, loader: key.loader, rules: load))
                continue
            }
            guard previous != load else { continue }
            guard key.loader == .ipset else {
                operations.append(.loadFirewall(netns: key.netns, loader: key.loader, rules: change(key.loader, from: previous, to: load)))
                continue
            }
            let (changed, gone) = IPSetDiff.changeAndGone(from: previous, to: load)
            operations.append(.loadFirewall(netns: key.netns, loader: .ipset, rules: load.isEmpty ? gone : changed))
            if !gone.isEmpty { lastly.append(.loadFirewall(netns: key.netns, loader: .ipset, rules: gone)) }
        }
        // Loads of nodes that stay but lost their last service or policy, or changed proxy mode.
        let staying = staying ?? Set(after.compactMap { operation -> String? in
            if case .createNetns(let name) = operation { return name } else { return nil }
        })
        for (key, previous) in old.ordered where new.byKey[key] == nil && staying.contains(key.netns) {
            let removal = KernelOperation.loadFirewall(netns: key.netns, loader: key.loader,
                                                       rules: change(key.loader, from: previous, to: ""))
            if key.loader == .ipset { lastly.append(removal) } else { operations.append(removal) }
        }
        return operations + lastly
    }

    /// The input for `loader` that turns `old` (loaded) into `new`.
    static func change(_ loader: FirewallLoader, from old: String, to new: String) -> String {
        switch loader {
        case .iptablesRestore: return IPTablesRestoreDiff.change(from: old, to: new)
        case .nft: return NFTablesDiff.change(from: old, to: new)
        case .ipset: return new.isEmpty ? IPSetDiff.destroyGone(from: old, to: new) : IPSetDiff.change(from: old, to: new)
        }
    }

    struct Key: Hashable {
        var netns: String
        var loader: FirewallLoader
    }

    static func loads(_ operations: [KernelOperation]) -> (ordered: [(key: Key, rules: String)], byKey: [Key: String]) {
        var ordered: [(key: Key, rules: String)] = []
        for case .loadFirewall(let namespace, let loader, let rules) in operations {
            ordered.append((Key(netns: namespace, loader: loader), rules))
        }
        return (ordered, Dictionary(ordered.map { ($0.key, $0.rules) }, uniquingKeysWith: { _, last in last }))
    }
}
