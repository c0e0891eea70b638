import LabAddress
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
    public var fabricNetns: String
    public var networks: [NetworkTopology]
    public var nodes: [NodeTopology]
    public var pods: [PodTopology]
    public var hosts: [HostTopology]
    public var services: [ServiceTopology]
    /// The lab's NetworkPolicies and namespaces; nil when the file has no policy, so the
    /// `topology.json` of such a lab is what it always was.
    public var policy: PolicyTopology?

    private enum CodingKeys: String, CodingKey {
        case lab, mode, proxy, neighbours, neighbourSetting, podCIDR, serviceCIDR, mtu, podMTU, fabricNetns = "fabricNamespace",
             networks, nodes, pods, hosts, services, policy, impairments, delayMechanism, dns
    }
    /// The links with a `link:` impairment; nil when there are none, likewise.
    public var impairments: [ImpairedLink]? = nil
    /// How delay and jitter are carried out: settled by `lab up` from the kernel (netem when
    /// it has it, else the delay line); nil when no link delays, or before it is settled, which
    /// plans netem.
    public var delayMechanism: DelayMechanism? = nil
    /// The cluster DNS: which pod serves it behind which service; nil with `cluster.dns: false`.
    /// The pod and the service are also in `pods` and `services`, like any other.
    public var dns: ClusterDNSTopology? = nil

    /// Every network namespace of the lab, in creation order (fabric first: everything plugs
    /// into it).
    public var allNetns: [String] {
        [fabricNetns] + nodes.map(\.netns) + hosts.map(\.netns) + pods.map(\.netns)
    }

    /// Everything with an address on the underlay: nodes, then hosts, in file order.
    public var machines: [any UnderlayMachine] {
        nodes.map { $0 as any UnderlayMachine } + hosts.map { $0 as any UnderlayMachine }
    }

    public func node(named name: String) -> NodeTopology? { nodes.first { $0.name == name } }
    public func pod(named name: String) -> PodTopology? { pods.first { $0.name == name } }
    /// The pods by name, for looking up many: `pod(named:)` searches the list, which is
    /// quadratic over a 1,000-pod lab's pods.
    public var podsByName: [String: PodTopology] { Dictionary(pods.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first }) }
    public func host(named name: String) -> HostTopology? { hosts.first { $0.name == name } }
    public func network(named name: String) -> NetworkTopology? { networks.first { $0.name == name } }
}

/// The cluster DNS of a lab: the `coredns` pod that serves it (in `pods`) behind the
/// `kube-dns` service (in `services`), both in `namespace`, and what every pod's `resolv.conf`
/// names: `clusterIP` and the search domains under `domain`.
public struct ClusterDNSTopology: Sendable, Hashable, Codable {
    /// The cluster domain, `cluster.local` by default.
    public var domain: String
    /// The kube-dns service's ClusterIP: every pod's nameserver.
    public var clusterIP: IPv4Address
    /// The Kubernetes namespace of the pod and the service, `kube-system`.
    public var namespace: String
    /// `coredns`: the pod the server answers in, on its pod IP.
    public var podName: String
    /// `kube-dns`.
    public var serviceName: String

    public init(domain: String, clusterIP: IPv4Address, namespace: String = ClusterDNSSpec.namespace,
                podName: String = ClusterDNSSpec.podName, serviceName: String = ClusterDNSSpec.serviceName) {
        self.domain = domain
        self.clusterIP = clusterIP
        self.namespace = namespace
        self.podName = podName
        self.serviceName = serviceName
    }

    /// The ports of the service and of the pod's container, as kubeadm's manifests name them.
    public static let ports: [(name: String, port: Int, protocol: TransportProtocol)] = [
        ("dns", 53, .udp), ("dns-tcp", 53, .tcp), ("metrics", 9153, .tcp),
    ]
    public static let metricsPort = 9153
    /// The label the service selects the pod by.
    public static let labels = ["k8s-app": "kube-dns"]
}

extension Topology {
    /// The pod that serves the cluster DNS; nil when the lab has none.
    public var dnsPod: PodTopology? { pods.first(where: isClusterDNS) }
    /// Whether `pod` is the one that serves the cluster DNS (`kube-system/coredns`): the
    /// cluster's own, not a workload of the file.
    public func isClusterDNS(_ pod: PodTopology) -> Bool {
        dns.map { pod.name == $0.podName && pod.namespace == $0.namespace } ?? false
    }
    /// The file's pods: all but the cluster DNS's.
    public var workloadPods: [PodTopology] { pods.filter { !isClusterDNS($0) } }
    /// The kube-dns service; nil when the lab has none.
    public var dnsService: ServiceTopology? {
        dns.flatMap { dns in services.first { $0.name == dns.serviceName && $0.namespace == dns.namespace } }
    }
}

/// A veth pair as both of its ends see it.
public struct VethPair: Sendable, Hashable, Codable {
    public var netns: String
    public var name: String
    public var mac: MACAddress
    public var peerNetns: String
    public var peerName: String
    public var peerMAC: MACAddress
    public var mtu: Int

    private enum CodingKeys: String, CodingKey {
        case netns = "namespace", name, mac, peerNetns = "peerNamespace", peerName, peerMAC, mtu
    }
}

public struct NetworkTopology: Sendable, Hashable, Codable {
    public var name: String
    public var cidr: IPv4Network
    /// `.1`, held by the fabric's bridge for this network.
    public var gateway: IPv4Address
    public var bridge: String
    public var bridgeMAC: MACAddress
}

/// Where a node or host plugs into the underlay: its address on one network, and `eth0`.
public struct UnderlayAttachment: Sendable, Hashable, Codable {
    public var network: String
    public var ip: IPv4Address
    /// The underlay prefix length (the network's).
    public var prefixLength: Int
    /// The network's `.1`, held by its bridge in the fabric.
    public var gateway: IPv4Address
    /// `eth0` in the node or host, its peer a port of the network's bridge in the fabric.
    public var uplink: VethPair
}

/// A node or a host: a namespace on the underlay. Code that plugs either into the underlay
/// (addresses, routes, neighbour entries) reads `underlay` and need not know which it is.
public protocol UnderlayMachine: Sendable {
    /// `node` or `host`, as references and derived MACs spell it.
    static var kind: String { get }
    var name: String { get }
    var netns: String { get }
    var underlay: UnderlayAttachment { get }
}

extension UnderlayMachine {
    /// `node/NAME` or `host/NAME`: what MACs are derived from and allocations are kept by.
    public var object: String { "\(Self.kind)/\(name)" }
    public var network: String { underlay.network }
    public var ip: IPv4Address { underlay.ip }
    public var prefixLength: Int { underlay.prefixLength }
    public var gateway: IPv4Address { underlay.gateway }
    public var uplink: VethPair { underlay.uplink }
}

public struct NodeTopology: UnderlayMachine, Hashable {
    public static let kind = "node"
    public var name: String
    public var netns: String
    public var underlay: UnderlayAttachment
    public var podCIDR: IPv4Network
    /// `cni0`'s address: the podCIDR's first host, every pod's default gateway.
    public var bridgeAddress: IPv4Address
    public var bridgeMAC: MACAddress
    /// The MAC of the node's VXLAN device (vxlan mode), which flannel publishes as `VtepMAC`.
    public var vtepMAC: MACAddress
}

extension NodeTopology {
    /// The node's address on `device`, which the kernel takes as the source of what the node
    /// itself sends out of it: `cni0` the podCIDR's `.1`, `flannel.1` (vxlan mode) the
    /// podCIDR's `.0`, `eth0` its underlay address.
    public func address(on device: String) -> IPv4Address {
        switch device {
        case Naming.podBridge: bridgeAddress
        case Naming.vxlanDevice: podCIDR.address
        default: ip
        }
    }

    /// Every address the node has, on every device it has in `mode`: what it delivers to itself.
    public func addresses(mode: NetworkMode) -> [IPv4Address] {
        ([Naming.uplink, Naming.podBridge] + (mode == .vxlan ? [Naming.vxlanDevice] : [])).map(address(on:))
    }
}

public struct PodTopology: Sendable, Hashable, Codable {
    public var name: String
    /// The Kubernetes namespace.
    public var namespace: String
    public var node: String
    /// The pod's network namespace.
    public var netns: String
    public var ip: IPv4Address
    /// The podCIDR's prefix length, as the CNI bridge plugin configures it.
    public var prefixLength: Int
    public var gateway: IPv4Address
    public var labels: [String: String]
    /// `vethXXXXXXXX` in the node (a port of `cni0`), peer `eth0` in the pod.
    public var veth: VethPair
    public var containers: [ContainerTopology]

    private enum CodingKeys: String, CodingKey {
        case name, namespace = "kubernetesNamespace", node, netns = "namespace", ip, prefixLength, gateway, labels, veth, containers
    }
}

public struct ContainerTopology: Sendable, Hashable {
    public var name: String
    /// `agent` for the built-in server, else the command line.
    public var command: [String]
    public var isAgent: Bool
    /// What the built-in agent serves; empty for a command.
    public var agentPorts: [AgentPort]
    public var env: [String: String]
    public var restart: RestartPolicy
    /// The container's named ports (`ports:`), for services whose `targetPort` is a name.
    public var ports: [ContainerPortTopology] = []

    /// The agent's port numbers of one kind, in file order.
    public func agentPorts(_ kind: AgentPort.Kind) -> [Int] {
        agentPorts.filter { $0.kind == kind }.map(\.port)
    }
}

public struct ContainerPortTopology: Sendable, Hashable, Codable {
    public var name: String?
    public var port: Int
    public var `protocol`: TransportProtocol

    public init(name: String?, port: Int, protocol: TransportProtocol) {
        (self.name, self.port, self.protocol) = (name, port, `protocol`)
    }
}

extension PodTopology {
    /// The port a service's `targetPort` means in this pod: a number as it is, a name looked up
    /// in the pod's containers' `ports:` with the service port's protocol (nil when no
    /// container declares it: the pod is then not an endpoint of that port, as in Kubernetes).
    public func resolve(targetPort: TargetPort, protocol: TransportProtocol) -> Int? {
        switch targetPort {
        case .number(let number): return number
        case .name(let name):
            for container in containers {
                if let port = container.ports.first(where: { $0.name == name && $0.protocol == `protocol` }) { return port.port }
            }
            return nil
        }
    }
}

public struct HostTopology: UnderlayMachine, Hashable {
    public static let kind = "host"
    public var name: String
    public var netns: String
    public var underlay: UnderlayAttachment
}

public struct ServiceTopology: Sendable, Hashable, Codable {
    public var name: String
    /// The Kubernetes namespace.
    public var namespace: String
    public var type: ServiceType
    /// nil for a headless service.
    public var clusterIP: IPv4Address?
    public var ports: [ServicePortTopology]
    /// Pods whose labels match the selector (same Kubernetes namespace), in file order.
    public var endpoints: [String]
    public var sessionAffinity: SessionAffinity
    public var affinityTimeoutSeconds: Int
    public var externalTrafficPolicy: ExternalTrafficPolicy

    private enum CodingKeys: String, CodingKey {
        case name, namespace = "kubernetesNamespace", type, clusterIP, ports, endpoints, sessionAffinity, affinityTimeoutSeconds,
             externalTrafficPolicy
    }
}

public struct ServicePortTopology: Sendable, Hashable, Codable {
    public var name: String?
    public var port: Int
    /// A number, or the name of a pod port.
    public var targetPort: TargetPort
    public var `protocol`: TransportProtocol
    public var nodePort: Int?
}

// `topology.json` keeps the shape older builds of `lab` wrote and read (the underlay fields of
// nodes and hosts at their top level; an agent's ports as `httpPorts`, `tcpPorts`, `udpPorts`),
// so a lab that is up survives an upgrade and a running supervisor of either build reads the
// file the other wrote. `Golden/topology/` pins it.

extension NodeTopology: Codable {
    private enum CodingKeys: String, CodingKey {
        case name, namespace, podCIDR, bridgeAddress, bridgeMAC, vtepMAC
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try container.decode(String.self, forKey: .name),
                  netns: try container.decode(String.self, forKey: .namespace),
                  underlay: try UnderlayAttachment(from: decoder),
                  podCIDR: try container.decode(IPv4Network.self, forKey: .podCIDR),
                  bridgeAddress: try container.decode(IPv4Address.self, forKey: .bridgeAddress),
                  bridgeMAC: try container.decode(MACAddress.self, forKey: .bridgeMAC),
                  vtepMAC: try container.decode(MACAddress.self, forKey: .vtepMAC))
    }

    public func encode(to encoder: Encoder) throws {
        try underlay.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(netns, forKey: .namespace)
        try container.encode(podCIDR, forKey: .podCIDR)
        try container.encode(bridgeAddress, forKey: .bridgeAddress)
        try container.encode(bridgeMAC, forKey: .bridgeMAC)
        try container.encode(vtepMAC, forKey: .vtepMAC)
    }
}

extension HostTopology: Codable {
    private enum CodingKeys: String, CodingKey {
        case name, namespace
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try container.decode(String.self, forKey: .name),
                  netns: try container.decode(String.self, forKey: .namespace),
                  underlay: try UnderlayAttachment(from: decoder))
    }

    public func encode(to encoder: Encoder) throws {
        try underlay.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(netns, forKey: .namespace)
    }
}

extension ContainerTopology: Codable {
    private enum CodingKeys: String, CodingKey {
        case name, command, isAgent, httpPorts, tcpPorts, udpPorts, env, restart, ports
    }

    private static func key(_ kind: AgentPort.Kind) -> CodingKeys {
        switch kind {
        case .http: return .httpPorts
        case .tcp: return .tcpPorts
        case .udp: return .udpPorts
        }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let agentPorts = try AgentPort.Kind.allCases.flatMap { kind in
            try container.decode([Int].self, forKey: Self.key(kind)).map { AgentPort(kind, $0) }
        }
        self.init(name: try container.decode(String.self, forKey: .name),
                  command: try container.decode([String].self, forKey: .command),
                  isAgent: try container.decode(Bool.self, forKey: .isAgent), agentPorts: agentPorts,
                  env: try container.decode([String: String].self, forKey: .env),
                  restart: try container.decode(RestartPolicy.self, forKey: .restart),
                  ports: try container.decode([ContainerPortTopology].self, forKey: .ports))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(command, forKey: .command)
        try container.encode(isAgent, forKey: .isAgent)
        for kind in AgentPort.Kind.allCases { try container.encode(agentPorts(kind), forKey: Self.key(kind)) }
        try container.encode(env, forKey: .env)
        try container.encode(restart, forKey: .restart)
        try container.encode(ports, forKey: .ports)
    }
}
