import LabSpec

/// A lab with every name, address and interface settled: the answer to "what exactly will
/// `lab up` build?". Pure data, deterministic for a given lab file, saved in the lab's state so
/// `status`, `exec` and `down` never have to re-derive it.
public struct Topology: Sendable, Hashable, Codable {
    public var lab: String
    public var mode: NetworkMode
    public var proxy: ProxyMode
    /// The neighbour mode in force: `arp` or `static`, never `auto` — `auto` is settled before
    /// planning (`NeighbourDecision`) and kept while the lab is up.
    public var neighbours: NeighbourMode
    /// `cluster.neighbours` as the file says it (`auto` included), for `lab status`.
    public var neighbourSetting: NeighbourMode
    public var podCIDR: IPv4Network
    public var serviceCIDR: IPv4Network
    /// The underlay MTU (`cluster.mtu`).
    public var mtu: Int
    /// What pods, their veths and `cni0` get: the underlay MTU, minus 50 in vxlan mode.
    public var podMTU: Int
    public var fabricNamespace: String
    public var networks: [NetworkTopology]
    public var nodes: [NodeTopology]
    public var pods: [PodTopology]
    public var hosts: [HostTopology]
    public var services: [ServiceTopology]

    /// Every namespace of the lab, in creation order (fabric first: everything plugs into it).
    public var namespaces: [String] {
        [fabricNamespace] + nodes.map(\.namespace) + hosts.map(\.namespace) + pods.map(\.namespace)
    }

    public func node(named name: String) -> NodeTopology? { nodes.first { $0.name == name } }
    public func pod(named name: String) -> PodTopology? { pods.first { $0.name == name } }
    public func host(named name: String) -> HostTopology? { hosts.first { $0.name == name } }
    public func network(named name: String) -> NetworkTopology? { networks.first { $0.name == name } }
}

/// A veth pair as both of its ends see it.
public struct VethPair: Sendable, Hashable, Codable {
    public var namespace: String
    public var name: String
    public var mac: MACAddress
    public var peerNamespace: String
    public var peerName: String
    public var peerMAC: MACAddress
    public var mtu: Int
}

public struct NetworkTopology: Sendable, Hashable, Codable {
    public var name: String
    public var cidr: IPv4Network
    /// `.1`, held by the fabric's bridge for this network.
    public var gateway: IPv4Address
    public var bridge: String
    public var bridgeMAC: MACAddress
}

public struct NodeTopology: Sendable, Hashable, Codable {
    public var name: String
    public var namespace: String
    public var network: String
    public var ip: IPv4Address
    /// The underlay prefix length (the network's).
    public var prefixLength: Int
    public var gateway: IPv4Address
    public var podCIDR: IPv4Network
    /// `cni0`'s address: the podCIDR's first host, every pod's default gateway.
    public var bridgeAddress: IPv4Address
    public var bridgeMAC: MACAddress
    /// The MAC of the node's VXLAN device (vxlan mode), which flannel publishes as `VtepMAC`.
    public var vtepMAC: MACAddress
    /// `eth0` in the node, its peer a port of the network's bridge in the fabric.
    public var uplink: VethPair
}

public struct PodTopology: Sendable, Hashable, Codable {
    public var name: String
    public var kubernetesNamespace: String
    public var node: String
    public var namespace: String
    public var ip: IPv4Address
    /// The podCIDR's prefix length, as the CNI bridge plugin configures it.
    public var prefixLength: Int
    public var gateway: IPv4Address
    public var labels: [String: String]
    /// `vethXXXXXXXX` in the node (a port of `cni0`), peer `eth0` in the pod.
    public var veth: VethPair
    public var containers: [ContainerTopology]
}

public struct ContainerTopology: Sendable, Hashable, Codable {
    public var name: String
    /// `agent` for the built-in server, else the command line.
    public var command: [String]
    public var isAgent: Bool
    public var httpPorts: [Int]
    public var tcpPorts: [Int]
    public var udpPorts: [Int]
    public var env: [String: String]
    public var restart: String
    /// The container's named ports (`ports:`), for services whose `targetPort` is a name.
    public var ports: [ContainerPortTopology] = []
}

public struct ContainerPortTopology: Sendable, Hashable, Codable {
    public var name: String?
    public var port: Int
    /// `TCP`, `UDP` or `SCTP`.
    public var `protocol`: String
}

extension PodTopology {
    /// The port a service's `targetPort` means in this pod: a number as it is, a name looked up
    /// in the pod's containers' `ports:` with the service port's protocol (nil when no
    /// container declares it: the pod is then not an endpoint of that port, as in Kubernetes).
    public func resolve(targetPort: String, protocol: String) -> Int? {
        if let number = Int(targetPort) { return number }
        for container in containers {
            if let port = container.ports.first(where: { $0.name == targetPort && $0.protocol == `protocol` }) { return port.port }
        }
        return nil
    }
}

public struct HostTopology: Sendable, Hashable, Codable {
    public var name: String
    public var namespace: String
    public var network: String
    public var ip: IPv4Address
    public var prefixLength: Int
    public var gateway: IPv4Address
    public var uplink: VethPair
}

public struct ServiceTopology: Sendable, Hashable, Codable {
    public var name: String
    public var kubernetesNamespace: String
    public var type: String
    /// nil for a headless service.
    public var clusterIP: IPv4Address?
    public var ports: [ServicePortTopology]
    /// Pods whose labels match the selector (same Kubernetes namespace), in file order.
    public var endpoints: [String]
    public var sessionAffinity: String
    public var affinityTimeoutSeconds: Int
    public var externalTrafficPolicy: String
}

public struct ServicePortTopology: Sendable, Hashable, Codable {
    public var name: String?
    public var port: Int
    /// A number, or the name of a pod port.
    public var targetPort: String
    public var `protocol`: String
    public var nodePort: Int?
}
