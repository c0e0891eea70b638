import LabAddress
import LabSpec

extension PodTopology {
    /// A pod with only what the NetworkPolicies read of it (`PolicyLayout`, `PolicyEvaluator`,
    /// the checks of a policy): its names, node, address, labels and containers' names and
    /// ports; its veth is blank and its containers run nothing. For a change of the policies
    /// alone, which must not decode the pods' whole records; nothing may plan a pod's
    /// interfaces or start its containers from it.
    public static func partial(name: String, namespace: String, node: String, netns: String, ip: IPv4Address, prefixLength: Int,
                               gateway: IPv4Address, labels: [String: String],
                               containers: [(name: String, ports: [ContainerPortTopology])]) -> PodTopology {
        let blank = MACAddress(bytes: [0, 0, 0, 0, 0, 0])
        return PodTopology(
            name: name, namespace: namespace, node: node, netns: netns, ip: ip, prefixLength: prefixLength, gateway: gateway,
            labels: labels, veth: VethPair(netns: "", name: "", mac: blank, peerNetns: "", peerName: "", peerMAC: blank, mtu: 0),
            containers: containers.map {
                ContainerTopology(name: $0.name, command: [], isAgent: false, agentPorts: [], env: [:], restart: .never, ports: $0.ports)
            })
    }
}
