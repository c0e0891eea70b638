import LabAddress

/// A lab file as written, decoded and validated (docs/architecture.md, "The lab file"). Defaults
/// that need no allocation are filled in here (`namespace: default`, `restart: always`, …);
/// addresses, podCIDRs and interface names are settled later by `LabPlan.Topology`.
///
/// `sourceMap` remembers where every value came from, so that any later stage can report an
/// error as `file:line:column: path: message`.
public struct LabFile: Sendable {
    public var name: String
    public var cluster = ClusterSpec()
    /// Underlay segments. Never empty after decoding: a file without `networks` gets
    /// `ClusterSpec.defaultNetwork`.
    public var networks = [NetworkSpec.default]
    public var nodes: [NodeSpec] = []
    public var pods: [PodSpec] = []
    public var services: [ServiceSpec] = []
    public var hosts: [HostSpec] = []
    public var probes: [ProbeSpec] = []
    /// `namespaces:` as written; `namespace(named:)` also knows the ones only used.
    public var namespaces: [NamespaceSpec] = []
    public var networkPolicies: [NetworkPolicySpec] = []
    /// What `lab verify` runs after the probes: faults and the probes that must hold under them.
    public var scenarios: [ScenarioSpec] = []
    public var sourceMap = SourceMap(file: "<memory>")

    /// Every Kubernetes namespace of the lab: those listed, then those only used by a pod,
    /// service or policy (in file order), each with its labels.
    public var allNamespaces: [NamespaceSpec] {
        var seen = Set(namespaces.map(\.name))
        let used = pods.map(\.namespace) + services.map(\.namespace) + networkPolicies.map(\.namespace)
        return namespaces + used.filter { seen.insert($0).inserted }.map { NamespaceSpec(name: $0) }
    }
}

public enum NetworkMode: String, Sendable, Codable, CaseIterable {
    case routed
    case vxlan
}

public enum ProxyMode: String, Sendable, Codable, CaseIterable {
    case iptables
    case nftables
}

/// How the lab's namespaces learn their on-link neighbours' MACs (`cluster.neighbours`). Every
/// namespace's entries count against one neighbour table for the whole host
/// (`net.ipv4.neigh.default.gc_thresh3`); permanent entries do not.
public enum NeighbourMode: String, Sendable, Codable, CaseIterable {
    /// `arp` while the lab's worst case fits comfortably in the host's table, else `static`;
    /// settled when the lab is built.
    case auto
    /// The kernel resolves with ARP, as on a real node (the CNI bridge plugin's behaviour).
    case arp
    /// Permanent entries, written by `lab up`, for every on-link peer whose MAC the lab sets.
    case `static`
}

public struct ClusterSpec: Sendable, Hashable {
    public var podCIDR = ClusterSpec.defaultPodCIDR
    public var serviceCIDR = ClusterSpec.defaultServiceCIDR
    public var network = NetworkMode.routed
    public var proxy = ProxyMode.iptables
    /// Underlay MTU; pods get `mtu - 50` in vxlan mode.
    public var mtu = 1500
    public var neighbours = NeighbourMode.auto
    /// `cluster.dns`: the cluster DNS, on unless the file says `dns: false` (nil).
    public var dns: ClusterDNSSpec? = ClusterDNSSpec()

    public static let defaultPodCIDR = IPv4Network("10.244.0.0/16")!
    public static let defaultServiceCIDR = IPv4Network("10.96.0.0/16")!
}

/// `cluster.dns`: a `coredns` pod on the first node behind the `kube-system/kube-dns` service,
/// as kubeadm sets a cluster up. The names are fixed, as they are in every cluster.
public struct ClusterDNSSpec: Sendable, Hashable {
    public static let namespace = "kube-system"
    public static let podName = "coredns"
    public static let serviceName = "kube-dns"
    public static let defaultDomain = "cluster.local"
    /// Which address of `cluster.serviceCIDR` is the default ClusterIP (`10.96.0.10`), as
    /// kubeadm picks it.
    public static let defaultClusterIPIndex: UInt32 = 10

    public var domain: String
    /// nil: the tenth address of `cluster.serviceCIDR`.
    public var clusterIP: IPv4Address?

    public init(domain: String = ClusterDNSSpec.defaultDomain, clusterIP: IPv4Address? = nil) {
        self.domain = domain
        self.clusterIP = clusterIP
    }

    /// The kube-dns ClusterIP in a cluster with this serviceCIDR.
    public func clusterIP(in serviceCIDR: IPv4Network) -> IPv4Address {
        clusterIP ?? serviceCIDR.host(Self.defaultClusterIPIndex)
    }
}

/// An underlay L2 segment; its `.1` is the gateway, held by the fabric namespace.
public struct NetworkSpec: Sendable, Hashable {
    public var name: String
    public var cidr: IPv4Network
    /// Delay, loss and rate on every port of the network's bridge (`link:`).
    public var link: LinkImpairment? = nil

    public static let `default` = NetworkSpec(name: "underlay", cidr: IPv4Network("172.18.0.0/24")!)

    public init(name: String, cidr: IPv4Network) {
        self.name = name
        self.cidr = cidr
    }
}

/// What a node and a host have alike in a lab file: a machine with an `eth0` on an underlay
/// network, read, placed and impaired the same way.
public protocol UnderlayMachineSpec: Sendable {
    /// `node` or `host`, as in `node/NAME`.
    static var kind: String { get }
    var name: String { get }
    /// nil: the first network.
    var network: String? { get set }
    /// nil: the next free address of the network.
    var ip: IPv4Address? { get set }
    /// Delay, loss and rate of the link (`link:`); nil for a plain link.
    var link: LinkImpairment? { get set }
}

extension UnderlayMachineSpec {
    /// `node/NAME`, `host/NAME`.
    public var object: String { "\(Self.kind)/\(name)" }
}

extension LabFile {
    /// The nodes, then the hosts, in file order.
    public var machines: [any UnderlayMachineSpec] { nodes + hosts }
}

public struct NodeSpec: UnderlayMachineSpec, Hashable {
    public static let kind = "node"
    public var name: String
    public var network: String?
    public var ip: IPv4Address?
    /// nil: the next free /24 of `cluster.podCIDR`.
    public var podCIDR: IPv4Network?
    public var link: LinkImpairment? = nil
}

public struct PodSpec: Sendable, Hashable {
    public var name: String
    /// The Kubernetes namespace (for DNS names and policies), not a Linux namespace.
    public var namespace: String
    public var node: String
    public var ip: IPv4Address?
    public var labels: [String: String]
    public var containers: [ContainerSpec]
    /// Delay, loss and rate of the link (`link:`); nil for a plain link.
    public var link: LinkImpairment? = nil

    public init(name: String, namespace: String = "default", node: String, ip: IPv4Address? = nil,
                labels: [String: String] = [:], containers: [ContainerSpec] = []) {
        self.name = name
        self.namespace = namespace
        self.node = node
        self.ip = ip
        self.labels = labels
        self.containers = containers
    }
}

public enum RestartPolicy: String, Sendable, Codable, CaseIterable {
    case always
    case onFailure = "on-failure"
    case never
}

/// The built-in test server's ports (docs/architecture.md, "The built-in agent").
public struct AgentSpec: Sendable, Hashable {
    public var http: [Int]
    public var tcp: [Int]
    public var udp: [Int]

    public init(http: [Int] = [], tcp: [Int] = [], udp: [Int] = []) {
        self.http = http
        self.tcp = tcp
        self.udp = udp
    }

    /// The list of one kind, in file order.
    public func ports(_ kind: AgentPort.Kind) -> [Int] {
        switch kind {
        case .http: return http
        case .tcp: return tcp
        case .udp: return udp
        }
    }

    /// Every port, http first, then tcp, then udp, each in file order.
    public var ports: [AgentPort] {
        AgentPort.Kind.allCases.flatMap { kind in ports(kind).map { AgentPort(kind, $0) } }
    }
}

/// One port the built-in agent serves, and what it answers there.
public struct AgentPort: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// `/`, `/hostname`, `/clientip`, `/echo?msg=`, `/healthz` over HTTP/1.1.
        case http
        /// The pod name and a newline on connect, then an echo of every byte.
        case tcp
        /// Each datagram answered with `<pod> <client ip:port>`.
        case udp

        /// The transport the port is opened with.
        public var transport: TransportProtocol { self == .udp ? .udp : .tcp }
    }

    public var kind: Kind
    public var port: Int

    public init(_ kind: Kind, _ port: Int) {
        self.kind = kind
        self.port = port
    }
}

public enum ContainerRuntime: Sendable, Hashable {
    /// The built-in agent, served by the lab supervisor.
    case agent(AgentSpec)
    /// A program run inside the pod's namespaces; `argv[0]` is looked up in PATH.
    case command([String])
}

public struct ContainerSpec: Sendable, Hashable {
    public var name: String
    public var runtime: ContainerRuntime
    public var env: [String: String] = [:]
    public var restart: RestartPolicy = .always
    /// `ports:` as in a Kubernetes container: names for the ports it serves, which a service's
    /// `targetPort` can use instead of a number.
    public var ports: [ContainerPortSpec] = []
}

/// One entry of a container's `ports:` (`{name: web, containerPort: 8080, protocol: TCP}`).
public struct ContainerPortSpec: Sendable, Hashable {
    public var name: String?
    public var containerPort: Int
    public var `protocol`: TransportProtocol = .tcp
}

public enum ServiceType: String, Sendable, Codable, CaseIterable {
    case clusterIP = "ClusterIP"
    case nodePort = "NodePort"
    case headless = "Headless"
}

public enum TransportProtocol: String, Sendable, Codable, CaseIterable {
    case tcp = "TCP"
    case udp = "UDP"
    case sctp = "SCTP"
}

public enum TargetPort: Sendable, Hashable, CustomStringConvertible {
    case number(Int)
    /// A named port of the endpoint pods (resolved against agent ports later).
    case name(String)

    /// The port's name; nil for a number.
    public var name: String? {
        if case .name(let name) = self { return name }
        return nil
    }

    /// As a lab file writes it: `8080` or `http`.
    public var description: String {
        switch self {
        case .number(let number): return String(number)
        case .name(let name): return name
        }
    }
}

/// Stored as the text a lab file writes (`"8080"` or `"http"`). A port name holds at least one
/// letter, so text of digits only is always a number.
extension TargetPort: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = Int(text).map(TargetPort.number) ?? .name(text)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

public struct ServicePortSpec: Sendable, Hashable {
    public var name: String?
    public var port: Int
    /// Defaults to `port`.
    public var targetPort: TargetPort
    public var `protocol`: TransportProtocol
    public var nodePort: Int?

    public init(name: String? = nil, port: Int, targetPort: TargetPort? = nil, protocol: TransportProtocol = .tcp, nodePort: Int? = nil) {
        self.name = name
        self.port = port
        self.targetPort = targetPort ?? .number(port)
        self.protocol = `protocol`
        self.nodePort = nodePort
    }
}

public enum SessionAffinity: String, Sendable, Codable, CaseIterable {
    case none = "None"
    case clientIP = "ClientIP"
}

public enum ExternalTrafficPolicy: String, Sendable, Codable, CaseIterable {
    case cluster = "Cluster"
    case local = "Local"
}

public enum ClusterIPSetting: Sendable, Hashable {
    /// Not given: allocated from `cluster.serviceCIDR` in file order.
    case automatic
    case address(IPv4Address)
    /// `clusterIP: None`: a headless service.
    case none
}

public struct ServiceSpec: Sendable, Hashable {
    public var name: String
    public var namespace: String
    /// `clusterIP: None` makes the type `.headless`.
    public var type: ServiceType
    public var clusterIP: ClusterIPSetting
    public var selector: [String: String]
    public var ports: [ServicePortSpec]
    public var sessionAffinity: SessionAffinity
    /// `sessionAffinityConfig.clientIP.timeoutSeconds`; default 10800.
    public var affinityTimeoutSeconds: Int
    public var externalTrafficPolicy: ExternalTrafficPolicy

    public init(name: String, namespace: String = "default", type: ServiceType = .clusterIP,
                clusterIP: ClusterIPSetting = .automatic, selector: [String: String] = [:],
                ports: [ServicePortSpec] = [], sessionAffinity: SessionAffinity = .none,
                affinityTimeoutSeconds: Int = 10800, externalTrafficPolicy: ExternalTrafficPolicy = .cluster) {
        self.name = name
        self.namespace = namespace
        self.type = type
        self.clusterIP = clusterIP
        self.selector = selector
        self.ports = ports
        self.sessionAffinity = sessionAffinity
        self.affinityTimeoutSeconds = affinityTimeoutSeconds
        self.externalTrafficPolicy = externalTrafficPolicy
    }
}

/// A machine on the underlay that is not a node (an external client).
public struct HostSpec: UnderlayMachineSpec, Hashable {
    public static let kind = "host"
    public var name: String
    public var network: String?
    public var ip: IPv4Address?
    public var link: LinkImpairment? = nil
}
