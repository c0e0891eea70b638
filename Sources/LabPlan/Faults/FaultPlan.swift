import LabSpec

/// The kernel side of faults, pure: which links, networks and endpoints a fault touches, and
/// the operations that move a lab from one set of faults to another. Putting a fault in force,
/// reverting it, letting it expire and clearing them all are each one `transition`, so a
/// fault reverted is exactly as before it, and two faults on one link (a node down and one of
/// its pods down) never undo each other.
public enum FaultPlan {
    /// The fabric's nftables table that holds the partitions, and its chain (on the forward
    /// hook, before iptables' filter at priority 0). A table of its own touches no other rule,
    /// and deleting it when the last partition goes leaves the fabric exactly as before.
    public static let partitionTable = "lab_fault"
    public static let partitionChain = "partition"

    /// `fault` with its targets as the lab has them (`pod/web-1` for `web-1`); an unknown one is
    /// an error that says what there is, with the nearest name.
    public static func resolve(_ fault: Fault, in topology: Topology) throws(FaultInputError) -> Fault {
        var resolved = fault
        switch fault.kind {
        case .partition:
            let known = topology.networks.map(\.name)
            for name in fault.targets where !known.contains(name) {
                throw FaultInputError("lab \(topology.lab) has no network \"\(name)\"" + hint(name, known) + " (networks: \(known.joined(separator: ", ")))")
            }
        case .down, .impair:
            let target = fault.targets[0]
            let kinds = fault.kind.targetKinds
            var known: [String] = []
            if kinds.contains("pod") { known += topology.pods.map { "pod/\($0.name)" } }
            known += topology.nodes.map { "node/\($0.name)" }
            known += topology.hosts.map { "host/\($0.name)" }
            if kinds.contains("network") { known += topology.networks.map { "network/\($0.name)" } }
            let matches = target.contains("/") ? known.filter { $0 == target } : known.filter { $0.hasSuffix("/\(target)") }
            guard let match = matches.first else {
                let qualified = known.map { $0.split(separator: "/").last.map(String.init) ?? $0 }
                let nearest = EditDistance.suggestion(for: target, among: known)
                    ?? EditDistance.suggestion(for: target, among: qualified).flatMap { name in known.first { $0.hasSuffix("/\(name)") } }
                throw FaultInputError("lab \(topology.lab) has no \(kinds.dropLast().joined(separator: ", ")) or \(kinds.last!) \"\(target)\""
                    + (nearest.map { "; did you mean \($0)?" } ?? "") + " (lab status lists them)")
            }
            guard matches.count == 1 else {
                throw FaultInputError("\"\(target)\" is ambiguous in lab \(topology.lab) (\(matches.joined(separator: ", "))); write one of them")
            }
            resolved.targets = [match]
            resolved.settleNotReady(targetKind: String(match.prefix { $0 != "/" }))
        }
        return resolved
    }

    /// "; did you mean node/n1?", as the command line words it (names unquoted).
    public static func hint(_ name: String, _ known: [String]) -> String {
        EditDistance.suggestion(for: name, among: known).map { "; did you mean \($0)?" } ?? ""
    }

    /// The kernel operations that turn a lab with the faults `old` in force into one with
    /// `new` in force:
    /// 1. links newly down, both ends (`ip link set … down`);
    /// 2. links up again, then every address, route and neighbour entry of their namespaces
    ///    set again — a link going down takes its routes and neighbour entries with it (the
    ///    kernel's `fib_disable_ip`), and nothing brings them back but setting them;
    /// 3. root qdiscs of links whose impairment changed (a run-time impairment replaces the
    ///    file's while in force);
    /// 4. per namespace, the loss rules (`LAB-IMPAIR-*` in `mangle`) as a partial
    ///    `iptables-restore`, the same kind of input kube-proxy's partial sync writes;
    /// 5. the fabric's partition table (`nft -f`), created, refilled or deleted;
    /// 6. service rules without the endpoints of nodes not ready (the reconcile path: only
    ///    the chains that change, and UDP flows to lost endpoints flushed).
    public static func transition(_ topology: Topology, from old: FaultSet, to new: FaultSet) -> [KernelOperation] {
        var ops: [KernelOperation] = []
        let downBefore = downLinks(old, topology), downAfter = downLinks(new, topology)
        let downAfterSet = Set(downAfter)
        let downBeforeSet = Set(downBefore)

        // 1.
        for end in downAfter where !downBeforeSet.contains(end) { ops.append(.setDown(netns: end.netns, link: end.link)) }

        // 2.
        let cameUp = downBefore.filter { !downAfterSet.contains($0) }
        if !cameUp.isEmpty {
            for end in cameUp { ops.append(.setUp(netns: end.netns, link: end.link)) }
            let namespaces = Set(cameUp.map(\.netns))
            for operation in Planner.plan(topology).operations where namespaces.contains(operation.netns) {
                guard operation.isLinkSetting, let link = operation.settingLink,
                      !downAfterSet.contains(LinkEnd(netns: operation.netns, link: link)) else { continue }
                // The links that came up were set up above; others never went down.
                if case .setUp = operation { continue }
                ops.append(operation)
            }
        }

        // 3. and 4.
        let before = withImpairments(topology, old), after = withImpairments(topology, new)
        ops += qdiscChanges(from: ImpairmentPlan.qdiscs(before), to: ImpairmentPlan.qdiscs(after))
        let lossBefore = Dictionary(ImpairmentPlan.lossRules(before), uniquingKeysWith: { a, _ in a })
        let lossAfter = ImpairmentPlan.lossRules(after)
        var lossNamespaces = lossAfter.map(\.namespace)
        lossNamespaces += ImpairmentPlan.lossRules(before).map(\.namespace).filter { !lossNamespaces.contains($0) }
        let lossAfterByNamespace = Dictionary(lossAfter, uniquingKeysWith: { a, _ in a })
        for namespace in lossNamespaces {
            let change = IPTablesRestoreDiff.change(from: lossBefore[namespace] ?? "", to: lossAfterByNamespace[namespace] ?? "")
            if !change.isEmpty { ops.append(.loadFirewall(netns: namespace, loader: .iptablesRestore, rules: change)) }
        }

        // 5.
        if let partition = partitionChange(from: partitionRules(old, topology), to: partitionRules(new, topology)) {
            ops.append(.loadFirewall(netns: topology.fabricNetns, loader: .nft, rules: partition))
        }

        // 6.
        let notReadyBefore = old.notReadyNodes, notReadyAfter = new.notReadyNodes
        if notReadyBefore != notReadyAfter {
            let change = Reconciler.plan(from: withoutEndpoints(of: notReadyBefore, topology),
                                         to: withoutEndpoints(of: notReadyAfter, topology))
            ops += change.operations.filter { operation in
                switch operation {
                case .loadFirewall, .flushConntrack: return true
                default: return false
                }
            }
        }
        return ops
    }

    /// Both ends of every link a set of faults holds down, each once, in fault order: a pod's
    /// veth; a node's or host's uplink; for a node also the veth of every pod on it.
    public static func downLinks(_ set: FaultSet, _ topology: Topology) -> [LinkEnd] {
        var ends: [LinkEnd] = []
        var seen = Set<LinkEnd>()
        func add(_ pair: VethPair) {
            for end in [LinkEnd(netns: pair.netns, link: pair.name), LinkEnd(netns: pair.peerNetns, link: pair.peerName)]
            where seen.insert(end).inserted {
                ends.append(end)
            }
        }
        for record in set.records where record.fault.kind == .down {
            guard let (kind, name) = split(record.fault.targets[0]) else { continue }
            switch kind {
            case "pod":
                if let pod = topology.pod(named: name) { add(pod.veth) }
            case "node":
                guard let node = topology.node(named: name) else { continue }
                add(node.uplink)
                for pod in topology.pods where pod.node == name { add(pod.veth) }
            case "host":
                if let host = topology.host(named: name) { add(host.uplink) }
            default:
                continue
            }
        }
        return ends
    }

    /// `topology` with the impairments in force under `set`: the file's, each link's replaced
    /// by a run-time one on it (the latest, when several name it). A network's impairment is
    /// on the uplink of every node and host on it.
    public static func withImpairments(_ topology: Topology, _ set: FaultSet) -> Topology {
        var links = topology.impairments ?? []
        for record in set.records where record.fault.kind == .impair {
            guard let impairment = record.fault.impairment else { continue }
            for link in impairedLinks(record.fault.targets[0], impairment, topology) {
                if let index = links.firstIndex(where: { $0.inner == link.inner }) {
                    links[index] = link
                } else {
                    links.append(link)
                }
            }
        }
        var result = topology
        result.impairments = links.isEmpty ? nil : links
        return result
    }

    /// The links `target` names, with `impairment` on them.
    static func impairedLinks(_ target: String, _ impairment: LinkImpairment, _ topology: Topology) -> [ImpairedLink] {
        guard let (kind, name) = split(target) else { return [] }
        func uplink(_ machine: any UnderlayMachine) -> ImpairedLink {
            ImpairedLink(object: target, impairment: impairment,
                         inner: LinkEnd(netns: machine.uplink.netns, link: machine.uplink.name),
                         outer: LinkEnd(netns: machine.uplink.peerNetns, link: machine.uplink.peerName))
        }
        switch kind {
        case "pod":
            guard let pod = topology.pod(named: name) else { return [] }
            return [ImpairedLink(object: target, impairment: impairment,
                                 inner: LinkEnd(netns: pod.veth.peerNetns, link: pod.veth.peerName),
                                 outer: LinkEnd(netns: pod.veth.netns, link: pod.veth.name))]
        case "node": return topology.node(named: name).map { [uplink($0)] } ?? []
        case "host": return topology.host(named: name).map { [uplink($0)] } ?? []
        case "network": return topology.machines.filter { $0.network == name }.map(uplink)
        default: return []
        }
    }

    /// Per link end: the qdisc `after` wants where it differs from `before`'s, and the removal
    /// of one `after` no longer wants.
    static func qdiscChanges(from before: [KernelOperation], to after: [KernelOperation]) -> [KernelOperation] {
        var ops: [KernelOperation] = []
        let was = Set(before)
        let shapedAfter = Set(after.compactMap(\.qdiscKey))
        ops += after.filter { !was.contains($0) }
        for operation in before {
            guard let key = operation.qdiscKey, !shapedAfter.contains(key) else { continue }
            ops.append(.deleteQdisc(netns: key.netns, link: key.name))
        }
        return ops
    }

    /// The partition rules of a set, as `nft` writes them: both directions between each
    /// partitioned pair of networks' bridges dropped.
    static func partitionRules(_ set: FaultSet, _ topology: Topology) -> [String] {
        var rules: [String] = []
        for record in set.records where record.fault.kind == .partition {
            let bridges = record.fault.targets.compactMap { topology.network(named: $0)?.bridge }
            guard bridges.count == 2 else { continue }
            rules.append("iifname \"\(bridges[0])\" oifname \"\(bridges[1])\" drop")
            rules.append("iifname \"\(bridges[1])\" oifname \"\(bridges[0])\" drop")
        }
        return rules
    }

    /// The `nft -f` script from one set of partition rules to another, nil when they are the
    /// same: the table created with its chain, refilled in one transaction, or deleted whole.
    static func partitionChange(from old: [String], to new: [String]) -> String? {
        guard old != new else { return nil }
        let table = "inet \(partitionTable)"
        if new.isEmpty { return "delete table \(table)\n" }
        if old.isEmpty {
            return (["table \(table) {", "\tchain \(partitionChain) {", "\t\ttype filter hook forward priority -10; policy accept;"]
                + new.map { "\t\t\($0)" } + ["\t}", "}"]).joined(separator: "\n") + "\n"
        }
        return (["flush chain \(table) \(partitionChain)"] + new.map { "add rule \(table) \(partitionChain) \($0)" })
            .joined(separator: "\n") + "\n"
    }

    /// `topology` with the pods of `nodes` out of every service's endpoints, as the EndpointSlice
    /// controller marks a not-ready node's pods (kube-proxy then uses only the others).
    public static func withoutEndpoints(of nodes: Set<String>, _ topology: Topology) -> Topology {
        guard !nodes.isEmpty else { return topology }
        let leaving = Set(topology.pods.filter { nodes.contains($0.node) }.map(\.name))
        var result = topology
        for index in result.services.indices { result.services[index].endpoints.removeAll { leaving.contains($0) } }
        return result
    }

    /// `node/web` → (`node`, `web`).
    static func split(_ target: String) -> (kind: String, name: String)? {
        let parts = target.split(separator: "/", maxSplits: 1).map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }
}

extension KernelOperation {
    /// A setting of an existing link the kernel drops when the link goes down, or that is set
    /// again harmlessly: what `FaultPlan.transition` sets again when a link comes back.
    var isLinkSetting: Bool {
        switch self {
        case .addAddress, .addRoute, .addNeighbor, .addForwardingEntry, .setUp: return true
        default: return false
        }
    }

    /// The link such a setting is on.
    var settingLink: String? {
        switch self {
        case .addAddress(_, let link, _, _), .addNeighbor(_, let link, _, _), .addForwardingEntry(_, let link, _, _),
             .setUp(_, let link):
            return link
        case .addRoute(_, _, _, let device, _):
            return device
        default:
            return nil
        }
    }
}
