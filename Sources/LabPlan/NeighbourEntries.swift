import LabAddress
import LabSpec

/// One on-link peer a namespace may talk to, with the MAC the peer's interface has: what
/// `ip -n NAMESPACE neigh show dev LINK` lists for it once the namespace has talked to it.
public struct NeighbourEntry: Sendable, Hashable {
    public var netns: String
    public var link: String
    public var address: IPv4Address
    public var mac: MACAddress
}

/// The neighbour entries a lab may need, which all of its namespaces hold in the one neighbour
/// table the host's kernel keeps for every namespace (`net.ipv4.neigh.default.gc_thresh3`).
/// On a real cluster each node has its own kernel and table; here they all add up.
///
/// Per namespace, the peers on its links that it may talk to:
/// - a pod's `eth0`: its gateway (`cni0`) and every other pod on its node (same L2 segment);
/// - a node's `cni0`: its pods;
/// - a node's or host's `eth0`: the gateway and every other node and host on its network;
/// - the fabric's bridge of a network: every node and host on it.
///
/// Traffic to anything else leaves through one of these (a gateway), so this is the worst case
/// of an all-pairs check. flannel's entries on `flannel.1` (vxlan mode) are permanent already
/// and not counted. The MACs are the ones the lab sets on every interface, derived from names,
/// so `static` mode can write all of them before any packet is sent.
public enum NeighbourEntries {
    /// Every entry, grouped by namespace (fabric, nodes, hosts, pods: the plan's order), so an
    /// apply sends each namespace's entries together.
    public static func all(in topology: Topology) -> [NeighbourEntry] {
        var entries: [NeighbourEntry] = []
        let machines = topology.machines
        let machinesByNetwork = Dictionary(grouping: machines, by: \.network)
        let podsByNode = Dictionary(grouping: topology.pods, by: \.node)

        for network in topology.networks {
            for machine in machinesByNetwork[network.name, default: []] {
                entries.append(NeighbourEntry(netns: topology.fabricNetns, link: network.bridge,
                                              address: machine.ip, mac: machine.uplink.mac))
            }
        }
        func underlayPeers(of machine: any UnderlayMachine) {
            guard let network = topology.network(named: machine.network) else { return }
            entries.append(NeighbourEntry(netns: machine.netns, link: Naming.uplink, address: network.gateway,
                                          mac: network.bridgeMAC))
            for peer in machinesByNetwork[machine.network, default: []] where peer.netns != machine.netns {
                entries.append(NeighbourEntry(netns: machine.netns, link: Naming.uplink, address: peer.ip, mac: peer.uplink.mac))
            }
        }
        for (node, machine) in zip(topology.nodes, machines) {
            underlayPeers(of: machine)
            for pod in podsByNode[node.name, default: []] {
                entries.append(NeighbourEntry(netns: node.netns, link: Naming.podBridge, address: pod.ip,
                                              mac: pod.veth.peerMAC))
            }
        }
        for machine in machines.dropFirst(topology.nodes.count) { underlayPeers(of: machine) }
        let nodes = Dictionary(topology.nodes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for pod in topology.pods {
            guard let node = nodes[pod.node] else { continue }
            entries.append(NeighbourEntry(netns: pod.netns, link: Naming.podInterface, address: node.bridgeAddress,
                                          mac: node.bridgeMAC))
            for peer in podsByNode[pod.node, default: []] where peer.name != pod.name {
                entries.append(NeighbourEntry(netns: pod.netns, link: Naming.podInterface, address: peer.ip,
                                              mac: peer.veth.peerMAC))
            }
        }
        return entries
    }

    /// The permanent entries a lab that is up holds in the host's table: its own in `static`
    /// mode, and flannel's one per remote node on every node in vxlan mode. The kernel counts
    /// them in `/proc/net/stat/arp_cache`'s entries but never against `gc_thresh3` (permanent
    /// entries are exempt from its garbage collection), so `auto` takes them off what is in use.
    public static func permanent(in topology: Topology) -> Int {
        let own = topology.neighbours == .static ? worstCase(topology) : 0
        let flannel = topology.mode == .vxlan ? topology.nodes.count * max(0, topology.nodes.count - 1) : 0
        return own + flannel
    }

    /// How many entries `all(in:)` lists, counted without listing them (`auto` asks this of
    /// labs that will not need the list): with m machines on a network, its bridge holds m and
    /// each machine m (the gateway and the m − 1 others); with k pods on a node, its `cni0`
    /// holds k and each pod k.
    public static func worstCase(_ topology: Topology) -> Int {
        var machinesPerNetwork: [String: Int] = [:]
        for machine in topology.machines { machinesPerNetwork[machine.network, default: 0] += 1 }
        let nodeNames = Set(topology.nodes.map(\.name))
        var podsPerNode: [String: Int] = [:]
        for pod in topology.pods where nodeNames.contains(pod.node) { podsPerNode[pod.node, default: 0] += 1 }
        let known = Set(topology.networks.map(\.name))
        let underlay = machinesPerNetwork.filter { known.contains($0.key) }.values.reduce(0) { $0 + $1 + $1 * $1 }
        let pods = podsPerNode.values.reduce(0) { $0 + $1 + $1 * $1 }
        return underlay + pods
    }
}
