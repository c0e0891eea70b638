import LabAddress
import LabSpec

/// The plan that turns a lab that is up (`old`) into what a changed file says (`new`), without
/// rebuilding it: the difference of the two full plans, worked out per namespace.
///
/// - A namespace only in `old` is deleted (with everything in it); one only in `new` is
///   created and built completely.
/// - A namespace in both whose operations are the same is not touched at all: its links keep
///   their ifindex, its processes and sockets live on.
/// - A namespace in both whose operations differ ("changed") has what is gone removed
///   (routes, neighbours, FDB entries, addresses, masters, links — in that order), then all
///   of its new operations applied again; settings that are still there count as done
///   (`Plan.incremental`). Setting them all again, not just the new ones, covers what the
///   kernel removes by itself, e.g. routes through an address that was deleted.
/// - A link is recreated only when the operation that creates it changed (a veth that moved
///   to another node, a bridge with a new MTU); a veth whose other end's namespace is
///   deleted goes with it and needs no removal of its own.
/// - Neighbour entries (flannel's, and in `static` mode one per on-link peer) are the
///   exception to "all again": an entry stays as long as its link and the link's address do,
///   so only new ones, those whose MAC changed and those of a link that loses its address are
///   written (with replace, in place); the entries of peers that are gone are deleted. A
///   namespace where nothing but neighbour entries changed gets only those.
/// - Service rules are synced partially (`FirewallDiff`), and UDP flows to endpoints a
///   service lost are flushed from conntrack, as kube-proxy does.
///
/// A change of NetworkPolicies alone plans neither lab: only the firewall rules of the nodes
/// whose policy chains or sets change are rendered, old and new (`policyChange`).
public enum Reconciler {
    public static func plan(from old: Topology, to new: Topology) -> Plan {
        change(from: old, to: new).plan
    }

    /// The change from `old` to `new`; `planned`: the plan of `new`, when it is already made.
    public static func change(from old: Topology, to new: Topology, planned: Plan? = nil) -> LabChange {
        if old == new {
            return LabChange(plan: Plan(lab: new.lab, operations: [], incremental: true), rules: [], rulesScope: [], onlyPolicies: true)
        }
        return policyChange(from: old, to: new) ?? fullChange(from: old, to: new, planned: planned)
    }

    /// The change worked out from both labs' whole plans.
    static func fullChange(from old: Topology, to new: Topology, planned: Plan? = nil) -> LabChange {
        let before = Planner.plan(old).operations
        let after = (planned ?? Planner.plan(new)).operations
        let oldNamespaces = Set(old.allNetns), newNamespaces = Set(new.allNetns)
        let added = newNamespaces.subtracting(oldNamespaces)
        let removed = old.allNetns.filter { !newNamespaces.contains($0) }

        let beforeByNamespace = grouped(before), afterByNamespace = grouped(after)
        let changed = Set(newNamespaces.intersection(oldNamespaces).filter {
            beforeByNamespace[$0, default: []] != afterByNamespace[$0, default: []]
        })
        // Of those, the ones where more than neighbour entries changed: only they have their
        // settings applied again. (In a static lab a pod added to a node changes the entries of
        // every pod of that node, and nothing else of theirs.)
        let settingsChanged = Set(changed.filter { namespace in
            !beforeByNamespace[namespace, default: []].filter({ $0.neighbourKey == nil })
                .elementsEqual(afterByNamespace[namespace, default: []].filter({ $0.neighbourKey == nil }))
        })

        // Links of the old plan that will not exist afterwards, by (namespace, name).
        let surviving = Set(after.filter(\.createsLink))
        var vanishing = Set<LinkKey>()
        for operation in before where operation.createsLink {
            let keys = operation.createdLinks
            if !surviving.contains(operation) || keys.contains(where: { !newNamespaces.contains($0.netns) }) {
                vanishing.formUnion(keys)
            }
        }
        // A VXLAN device dies with its lower device (the node's eth0).
        for case .addVxlan(let namespace, let name, _, _, _, let device, _, _) in before
        where vanishing.contains(LinkKey(netns: namespace, name: device)) {
            vanishing.insert(LinkKey(netns: namespace, name: name))
        }

        // Removals first, then the namespaces that go. A veth whose other end is in a
        // namespace being deleted is deleted explicitly from the end that stays: the kernel
        // tears a deleted namespace down later (and never while a process is inside), so its
        // veths could still hold their names when the additions reuse them.
        let neighboursAfter = Set(after.compactMap(\.neighbourKey))
        // A qdisc the new plan still has (with other settings) is replaced in place, not deleted.
        let shapedAfter = Set(after.compactMap(\.qdiscKey))
        var operations = removals(in: before, remaining: Set(after), changed: changed, vanishing: vanishing, kept: newNamespaces,
                                  replaced: neighboursAfter)
            .filter { operation in
                guard case .deleteQdisc(let namespace, let link) = operation else { return true }
                return !shapedAfter.contains(LinkKey(netns: namespace, name: link))
            }
        operations += removed.map { .deleteNetns($0) }

        // Deleting a link's last IPv4 address flushes its neighbour entries, permanent ones too
        // (the kernel's `fib_disable_ip` → `arp_ifdown`): those are written again.
        let flushed = Set(operations.compactMap { operation -> LinkKey? in
            if case .deleteAddress(let namespace, let link, _, _) = operation { return LinkKey(netns: namespace, name: link) }
            return nil
        })
        operations += additions(after, before: before, added: added, changed: changed, settingsChanged: settingsChanged,
                                vanishing: vanishing, flushed: flushed)

        // A permanent entry the change writes already points at the new owner.
        operations += staleNeighbors(old: old, new: new).filter { operation in
            guard case .forgetNeighbor(let namespace, let link, let address) = operation else { return true }
            return !neighboursAfter.contains(NeighbourKey(netns: namespace, link: link, address: address))
        }
        operations += FirewallDiff.operations(before: before, after: after, added: added)
        operations += conntrackFlushes(old: old, new: new)
        return LabChange(plan: Plan(lab: new.lab, operations: operations, incremental: true),
                         rules: after.filter(\.isFirewallLoad), rulesScope: nil, onlyPolicies: false)
    }

    /// The new plan's operations that the change performs, in that plan's order (which is the
    /// kernel's dependency order). A link is created unless the very same link is there and
    /// stays; firewall loads are left to `FirewallDiff`.
    private static func additions(_ after: [KernelOperation], before: [KernelOperation], added: Set<String>,
                                  changed: Set<String>, settingsChanged: Set<String>, vanishing: Set<LinkKey>,
                                  flushed: Set<LinkKey>) -> [KernelOperation] {
        let existing = Set(before.filter(\.createsLink))
        let neighboursBefore = Set(before.filter { $0.neighbourKey != nil })
        var operations: [KernelOperation] = []
        for operation in after {
            switch operation {
            case .createNetns(let name):
                if added.contains(name) { operations.append(operation) }
            case .loadFirewall:
                continue
            default:
                if operation.createsLink {
                    if !existing.contains(operation) || operation.createdLinks.contains(where: vanishing.contains) {
                        operations.append(operation)
                    }
                } else if let key = operation.neighbourKey {
                    // A neighbour entry stays as long as its link and the link's address do:
                    // only new and changed ones are written, so a pod added to a node of a
                    // static lab writes its entries and its peers' entries about it, no others.
                    guard added.contains(key.netns) || changed.contains(key.netns) else { continue }
                    let link = LinkKey(netns: key.netns, name: key.link)
                    if neighboursBefore.contains(operation), !vanishing.contains(link), !flushed.contains(link) { continue }
                    operations.append(operation)
                } else if operation.owners.contains(where: { added.contains($0) || settingsChanged.contains($0) }) {
                    operations.append(operation)
                }
            }
        }
        return operations
    }

    /// An address that now belongs to another pod (or node, or host) may still be cached with
    /// the old owner's MAC by its neighbours on the same segment, which would send traffic to
    /// the wrong interface until the entry expires (tens of seconds). A fresh build has no such
    /// entries, so a change forgets them: in the node's `cni0` and the other pods of that node
    /// for a pod address; in the fabric's bridge and the other machines of the network for a
    /// node or host address.
    static func staleNeighbors(old: Topology, new: Topology) -> [KernelOperation] {
        var operations: [KernelOperation] = []
        let previousPodOwner = Dictionary(old.pods.map { ($0.ip, $0.name) }, uniquingKeysWith: { a, _ in a })
        let keptPods = Set(old.pods.map(\.netns))
        let podsByNode = Dictionary(grouping: new.pods.filter { keptPods.contains($0.netns) }, by: \.node)
        for pod in new.pods {
            guard let owner = previousPodOwner[pod.ip], owner != pod.name, let node = new.node(named: pod.node) else { continue }
            operations.append(.forgetNeighbor(netns: node.netns, link: Naming.podBridge, address: pod.ip))
            for neighbour in podsByNode[pod.node, default: []] where neighbour.name != pod.name {
                operations.append(.forgetNeighbor(netns: neighbour.netns, link: Naming.podInterface, address: pod.ip))
            }
        }
        let before = old.machines, after = new.machines
        let previousOwner = Dictionary(before.map { ($0.ip, $0.object) }, uniquingKeysWith: { a, _ in a })
        let kept = Set(before.map(\.netns))
        for machine in after {
            guard let owner = previousOwner[machine.ip], owner != machine.object,
                  let network = new.network(named: machine.network) else { continue }
            operations.append(.forgetNeighbor(netns: new.fabricNetns, link: network.bridge, address: machine.ip))
            for neighbour in after where neighbour.network == machine.network && neighbour.object != machine.object
            && kept.contains(neighbour.netns) {
                operations.append(.forgetNeighbor(netns: neighbour.netns, link: Naming.uplink, address: machine.ip))
            }
        }
        return operations
    }

    /// Operations by the namespaces they touch (a veth touches both of its namespaces).
    static func grouped(_ operations: [KernelOperation]) -> [String: [KernelOperation]] {
        var result: [String: [KernelOperation]] = [:]
        for operation in operations where !operation.isFirewallLoad {
            for owner in operation.owners { result[owner, default: []].append(operation) }
        }
        return result
    }

    /// What the old plan made in changed namespaces that the new plan does not make, taken
    /// back in reverse dependency order. Nothing is removed that goes anyway with its link or
    /// namespace.
    /// A neighbour entry the new plan writes again (`replaced`, with another MAC) is replaced in
    /// place, not removed first.
    static func removals(in before: [KernelOperation], remaining: Set<KernelOperation>, changed: Set<String>,
                         vanishing: Set<LinkKey>, kept: Set<String>, replaced: Set<NeighbourKey> = []) -> [KernelOperation] {
        var byRank: [[KernelOperation]] = Array(repeating: [], count: 5)
        var seen = Set<KernelOperation>()
        for operation in before.reversed() where operation.owners.contains(where: changed.contains) {
            guard !remaining.contains(operation) || operation.createsLink, seen.insert(operation).inserted else { continue }
            if let key = operation.neighbourKey, replaced.contains(key) { continue }
            if let (rank, inverse) = inverse(of: operation, vanishing: vanishing, kept: kept) {
                byRank[rank].append(inverse)
            }
        }
        return byRank.flatMap { $0 }
    }

    /// The removal of `operation` and its rank (routes first, links last), or nil when it
    /// needs none: it still exists in the new plan, it goes with its link or namespace, or it
    /// is a setting that only matters while its link exists.
    static func inverse(of operation: KernelOperation, vanishing: Set<LinkKey>, kept: Set<String>) -> (Int, KernelOperation)? {
        func gone(_ namespace: String, _ link: String) -> Bool { vanishing.contains(LinkKey(netns: namespace, name: link)) }
        switch operation {
        case .addRoute(let namespace, let destination, let gateway, let device, _):
            if let device, gone(namespace, device) { return nil }
            return (0, .deleteRoute(netns: namespace, destination: destination, gateway: gateway, device: device))
        case .addNeighbor(let namespace, let link, let address, _):
            return gone(namespace, link) ? nil : (1, .deleteNeighbor(netns: namespace, link: link, address: address))
        case .addForwardingEntry(let namespace, let link, let mac, let destination):
            return gone(namespace, link) ? nil : (1, .deleteForwardingEntry(netns: namespace, link: link, mac: mac, destination: destination))
        case .addAddress(let namespace, let link, let address, let prefixLength):
            return gone(namespace, link) ? nil : (2, .deleteAddress(netns: namespace, link: link, address: address, prefixLength: prefixLength))
        case .setMaster(let namespace, let link, let master):
            return gone(namespace, link) || gone(namespace, master) ? nil : (3, .clearMaster(netns: namespace, link: link))
        case .addBridge(let namespace, let name, _, _):
            return gone(namespace, name) && kept.contains(namespace) ? (4, .deleteLink(netns: namespace, name: name)) : nil
        case .addVxlan(let namespace, let name, _, _, _, let device, _, _):
            // It goes by itself with its lower device.
            guard gone(namespace, name), kept.contains(namespace), !gone(namespace, device) else { return nil }
            return (4, .deleteLink(netns: namespace, name: name))
        case .replaceQdisc(let namespace, let link, _):
            return gone(namespace, link) ? nil : (0, .deleteQdisc(netns: namespace, link: link))
        case .addVeth(let pair, _):
            // Deleting one end deletes both, so from whichever end's namespace stays.
            guard gone(pair.netns, pair.name) else { return nil }
            if kept.contains(pair.netns) { return (4, .deleteLink(netns: pair.netns, name: pair.name)) }
            if kept.contains(pair.peerNetns) { return (4, .deleteLink(netns: pair.peerNetns, name: pair.peerName)) }
            return nil
        default:
            return nil
        }
    }

    /// kube-proxy's conntrack cleanup after a sync, for UDP service ports on every node that
    /// stays: flows DNATed to an endpoint the port lost, and flows to a port that had no
    /// endpoints (answered by REJECT) or no longer exists — by ClusterIP and port, and by
    /// nodePort.
    static func conntrackFlushes(old: Topology, new: Topology) -> [KernelOperation] {
        var operations: [KernelOperation] = []
        // The same on every node: which endpoints are local does not change what is flushed.
        let before = Dictionary(ProxiedServicePort.all(in: old).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(ProxiedServicePort.all(in: new).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for node in new.nodes where old.node(named: node.name)?.netns == node.netns {
            func flush(_ port: ProxiedServicePort, endpoint: IPv4Address?) {
                operations.append(.flushConntrack(netns: node.netns, filter: ConntrackFilter(
                    protocol: "udp", originalDestination: port.clusterIP, originalDestinationPort: port.port, natDestination: endpoint)))
                if let nodePort = port.nodePort {
                    operations.append(.flushConntrack(netns: node.netns, filter: ConntrackFilter(
                        protocol: "udp", originalDestinationPort: nodePort, natDestination: endpoint)))
                }
            }
            for (name, port) in before.sorted(by: { $0.key < $1.key }) where name.protocol.uppercased() == "UDP" {
                guard let now = after[name], now.clusterIP == port.clusterIP, now.port == port.port, now.nodePort == port.nodePort else {
                    flush(port, endpoint: nil)
                    continue
                }
                if !port.hasEndpoints, now.hasEndpoints {
                    flush(now, endpoint: nil)
                    continue
                }
                let remaining = Set(now.endpoints.map(\.text))
                for endpoint in port.endpoints where !remaining.contains(endpoint.text) {
                    flush(port, endpoint: endpoint.ip)
                }
            }
        }
        return operations
    }
}

/// A link by where it lives and its name.
struct LinkKey: Hashable {
    var netns: String
    var name: String
}

/// A neighbour entry by what the kernel keys it on: the link and the address.
struct NeighbourKey: Hashable {
    var netns: String
    var link: String
    var address: IPv4Address
}

extension KernelOperation {
    /// The namespaces whose contents the operation changes (both ends for a veth).
    var owners: [String] {
        if case .addVeth(let pair, _) = self { return [pair.netns, pair.peerNetns] }
        return [netns]
    }

    var createsLink: Bool {
        switch self {
        case .addBridge, .addVeth, .addVxlan: return true
        default: return false
        }
    }

    var createdLinks: [LinkKey] {
        switch self {
        case .addBridge(let namespace, let name, _, _), .addVxlan(let namespace, let name, _, _, _, _, _, _):
            return [LinkKey(netns: namespace, name: name)]
        case .addVeth(let pair, _):
            return [LinkKey(netns: pair.netns, name: pair.name), LinkKey(netns: pair.peerNetns, name: pair.peerName)]
        default:
            return []
        }
    }

    /// The link whose root qdisc the operation sets.
    var qdiscKey: LinkKey? {
        if case .replaceQdisc(let namespace, let link, _) = self { return LinkKey(netns: namespace, name: link) }
        return nil
    }

    /// The entry a permanent neighbour operation writes, by link and address.
    var neighbourKey: NeighbourKey? {
        if case .addNeighbor(let namespace, let link, let address, _) = self {
            return NeighbourKey(netns: namespace, link: link, address: address)
        }
        return nil
    }

    var isFirewallLoad: Bool {
        if case .loadFirewall = self { return true }
        return false
    }
}
