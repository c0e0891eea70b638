import LabAddress
/// What a cluster zone is built from: the few facts of Services and pods that DNS needs, in
/// the shape of the Kubernetes objects CoreDNS watches (Service, EndpointSlice, Pod). Built from
/// a lab's topology by `ClusterDNSInput(topology:)`, or by hand in tests.
public struct ClusterDNSInput: Sendable, Hashable {
    /// The cluster domain, `cluster.local` by default.
    public var domain: String = "cluster.local"
    public var services: [Service] = []
    public var pods: [Pod] = []
    /// Namespaces that exist without a service or pod in them (`kube-system` before anything
    /// runs there); pod names under `<ns>.pod.<domain>` need their namespace to exist.
    public var namespaces: [String] = []
    /// The server's own address, served as the A record of `ns.dns.<domain>` (the apex NS).
    public var nameserver: IPv4?
    public var options: ClusterDNSOptions = ClusterDNSOptions()

    public struct Service: Sendable, Hashable {
        public var name: String
        public var namespace: String
        /// nil for a headless service: its name then answers with the endpoints' addresses.
        public var clusterIP: IPv4?
        public var ports: [Port] = []
        /// The ready endpoints (as an EndpointSlice lists them).
        public var endpoints: [Endpoint] = []
    }

    /// A service port, or an endpoint's port of the same name (the number the pod listens on).
    public struct Port: Sendable, Hashable {
        /// Only named ports get SRV records.
        public var name: String?
        public var `protocol`: TransportName
        public var port: Int
    }

    public struct Endpoint: Sendable, Hashable {
        public var ip: IPv4
        public var ports: [Port] = []
    }

    public struct Pod: Sendable, Hashable {
        public var name: String
        public var namespace: String
        public var ip: IPv4
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

/// The zone's addresses are the lab's own (`LabAddress`, which imports nothing, so the DNS core
/// still needs no other part of lab).
public typealias IPv4 = IPv4Address

extension IPv4Address {
    /// `10-244-1-5`: the label CoreDNS gives an endpoint or pod.
    public var dashed: String { octets.map(String.init).joined(separator: "-") }

    /// `5.1.244.10.in-addr.arpa.`
    public var reverseName: DNSName { DNSName(octets.reversed().map(String.init).joined(separator: ".") + ".in-addr.arpa")! }
}
