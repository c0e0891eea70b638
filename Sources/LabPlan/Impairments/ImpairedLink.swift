import LabSpec

/// A link with a `link:` impairment, both of its ends settled: a pod's veth, or the uplink of a
/// node or host (its own `link:`, or its network's when it has none of its own).
public struct ImpairedLink: Sendable, Hashable, Codable {
    /// `pod/web-1`, `node/node-1`, `host/client`, or `network/wan` for a machine's uplink
    /// impaired by its network.
    public var object: String
    public var impairment: LinkImpairment
    /// The end away from any bridge (`eth0` of the pod, node or host). Loss is applied here,
    /// to both directions, since netfilter does not see frames a bridge forwards to a port.
    public var inner: LinkEnd
    /// The end that is a bridge port (`vethXXXX` on the node's `cni0`, the port on the
    /// network's bridge in the fabric).
    public var outer: LinkEnd

    /// Both ends: each shapes what it sends.
    public var ends: [LinkEnd] { [inner, outer] }

    /// Every impaired link of the lab, pods first, then nodes and hosts in file order; nil
    /// when the file impairs nothing, so `topology.json` of such a lab is what it always was.
    static func all(file: LabFile, nodes: [NodeTopology], hosts: [HostTopology], pods: [PodTopology]) -> [ImpairedLink]? {
        var links: [ImpairedLink] = []
        let podSpecs = Dictionary(file.pods.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for pod in pods {
            guard let impairment = podSpecs[pod.name]?.link else { continue }
            links.append(ImpairedLink(object: "pod/\(pod.name)", impairment: impairment,
                                      inner: LinkEnd(netns: pod.veth.peerNetns, link: pod.veth.peerName),
                                      outer: LinkEnd(netns: pod.veth.netns, link: pod.veth.name)))
        }
        let networkLinks = Dictionary(file.networks.compactMap { spec in spec.link.map { (spec.name, $0) } },
                                      uniquingKeysWith: { first, _ in first })
        let machineLinks = Dictionary(file.machines.map { ($0.object, $0.link) }, uniquingKeysWith: { first, _ in first })
        let machines = (nodes.map { $0 as any UnderlayMachine } + hosts).map { ($0, machineLinks[$0.object] ?? nil) }
        for (machine, own) in machines {
            // A machine's own `link:` is more specific than its network's.
            let object: String, impairment: LinkImpairment
            if let own {
                (object, impairment) = (machine.object, own)
            } else if let shared = networkLinks[machine.network] {
                (object, impairment) = ("network/\(machine.network)", shared)
            } else {
                continue
            }
            let uplink = machine.uplink
            links.append(ImpairedLink(object: object, impairment: impairment,
                                      inner: LinkEnd(netns: uplink.netns, link: uplink.name),
                                      outer: LinkEnd(netns: uplink.peerNetns, link: uplink.peerName)))
        }
        return links.isEmpty ? nil : links
    }
}

/// One end of a veth: the namespace it is in and its name there.
public struct LinkEnd: Sendable, Hashable, Codable {
    public var netns: String
    public var link: String
}
