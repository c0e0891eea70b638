/// What a cluster zone is built from: the few facts of Services and pods that DNS needs, in
/// the shape of the Kubernetes objects CoreDNS watches (Service, EndpointSlice, Pod). Built from
/// a lab's topology by `ClusterDNSInput(topology:)`, or by hand in tests.
public struct ClusterDNSInput: Sendable, Hashable {
    /// The cluster domain, `cluster.local` by default.
    public var domain: String
    public var services: [Service]
    public var pods: [Pod]
    /// Namespaces that exist without a service or pod in them (`kube-system` before anything
    /// runs there); pod names under `<ns>.pod.<domain>` need their namespace to exist.
    public var namespaces: [String]
    /// The server's own address, served as the A record of `ns.dns.<domain>` (the apex NS).
    public var nameserver: IPv4?
    public var options: ClusterDNSOptions

    public init(domain: String = "cluster.local", services: [Service] = [], pods: [Pod] = [], namespaces: [String] = [],
                nameserver: IPv4? = nil, options: ClusterDNSOptions = ClusterDNSOptions()) {
        self.domain = domain
        self.services = services
        self.pods = pods
        self.namespaces = namespaces
        self.nameserver = nameserver
        self.options = options
    }

    public struct Service: Sendable, Hashable {
        public var name: String
        public var namespace: String
        /// nil for a headless service: its name then answers with the endpoints' addresses.
        public var clusterIP: IPv4?
        public var ports: [Port]
        /// The ready endpoints (as an EndpointSlice lists them).
        public var endpoints: [Endpoint]

        public init(name: String, namespace: String, clusterIP: IPv4?, ports: [Port] = [], endpoints: [Endpoint] = []) {
            self.name = name
            self.namespace = namespace
            self.clusterIP = clusterIP
            self.ports = ports
            self.endpoints = endpoints
        }
    }

    /// A service port, or an endpoint's port of the same name (the number the pod listens on).
    public struct Port: Sendable, Hashable {
        /// Only named ports get SRV records.
        public var name: String?
        public var `protocol`: TransportName
        public var port: Int

        public init(name: String?, protocol: TransportName, port: Int) {
            self.name = name
            self.protocol = `protocol`
            self.port = port
        }
    }

    public struct Endpoint: Sendable, Hashable {
        public var ip: IPv4
        public var ports: [Port]

        public init(ip: IPv4, ports: [Port] = []) {
            self.ip = ip
            self.ports = ports
        }
    }

    public struct Pod: Sendable, Hashable {
        public var name: String
        public var namespace: String
        public var ip: IPv4

        public init(name: String, namespace: String, ip: IPv4) {
            self.name = name
            self.namespace = namespace
            self.ip = ip
        }
    }

    /// The protocol label of an SRV name (`_tcp`).
    public enum TransportName: String, Sendable, Hashable {
        case tcp, udp, sctp
    }
}

/// The `kubernetes` plugin's settings that change answers, with the kubeadm Corefile's values
/// as defaults (`pods insecure`, `ttl 30`).
public struct ClusterDNSOptions: Sendable, Hashable {
    /// `pods`: how `a-b-c-d.<ns>.pod.<domain>` is answered.
    public enum PodRecords: String, Sendable, Hashable {
        /// Every such name answers, if the namespace exists (kube-dns compatible).
        case insecure
        /// Only names of a pod with that address in that namespace.
        case verified
        /// None: NXDOMAIN (the plugin's own default).
        case disabled
    }

    public var pods: PodRecords
    public var ttl: UInt32
    /// The SOA serial; CoreDNS uses the time of the last change it saw.
    public var serial: UInt32

    public init(pods: PodRecords = .insecure, ttl: UInt32 = 30, serial: UInt32 = 1) {
        self.pods = pods
        self.ttl = ttl
        self.serial = serial
    }
}

/// An IPv4 address as four octets, kept here so the DNS core needs no other module.
public struct IPv4: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var octets: [UInt8]

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) { octets = [a, b, c, d] }

    /// Strict dotted quad: four decimal octets without leading zeros.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  !(part.count > 1 && part.first == "0"), let octet = UInt8(part) else { return nil }
            octets.append(octet)
        }
        self.octets = octets
    }

    public var description: String { octets.map(String.init).joined(separator: ".") }

    /// `10-244-1-5`: the label CoreDNS gives an endpoint or pod.
    public var dashed: String { octets.map(String.init).joined(separator: "-") }

    /// `5.1.244.10.in-addr.arpa.`
    public var reverseName: DNSName { DNSName(octets.reversed().map(String.init).joined(separator: ".") + ".in-addr.arpa")! }

    public static func < (lhs: IPv4, rhs: IPv4) -> Bool { lhs.octets.lexicographicallyPrecedes(rhs.octets) }
}
