import LabAddress
import LabDNS
import LabPlan
import LabSpec

/// What a probe looks up before it connects (a probe by name), or as all it does (a `dns`
/// probe): the name as written, the source pod's resolver, and where to send the queries.
public struct NameLookup: Sendable, Hashable {
    public var name: String
    /// The pod's resolv.conf as kubelet writes it: search path and ndots.
    public var resolver: ResolverConfiguration
    /// The nameserver the queries go to (the cluster DNS ClusterIP, port 53).
    public var server: ProbeEndpoint
    /// A probe by name connects here once the name has an address (0 for ping).
    public var port: Int

    public init(name: String, resolver: ResolverConfiguration, server: ProbeEndpoint, port: Int = 0) {
        self.name = name
        self.resolver = resolver
        self.server = server
        self.port = port
    }

    /// The lookup of a resolved probe: kubelet's ClusterFirst resolver for the pod's namespace.
    public init(_ lookup: ProbeLookup, port: Int) {
        self.init(name: lookup.name,
                  resolver: .clusterFirst(namespace: lookup.namespace, domain: lookup.domain, nameserver: lookup.nameserver.description),
                  server: ProbeEndpoint(address: lookup.nameserver, port: lookup.port), port: port)
    }
}

/// A probe by name, as its result shows where it went before it ran: the name and the port.
public struct NamedTarget: Sendable, Hashable, Codable, CustomStringConvertible {
    public var name: String
    /// 0 for ping.
    public var port: Int

    public init(name: String, port: Int) {
        self.name = name
        self.port = port
    }

    public var description: String { port == 0 ? name : "\(name):\(port)" }
}

/// What one lookup saw: each name of the search path it asked and the answer to it, the
/// response code it ended with, the answers of the type asked, and (for a probe by name) the
/// address it then connected to. Plain data, carried whole by the JSON report.
public struct LookupObservation: Sendable, Hashable, Codable {
    /// The name as written.
    public var name: String
    /// `A`, `SRV`, …
    public var type: String
    /// `web.default.svc.cluster.local. NXDOMAIN`, one per name asked, in order; `… timeout`
    /// or `… refused` for one that got no answer.
    public var queries: [String] = []
    /// The response code the walk ended with (NOERROR, NXDOMAIN, …); nil when the last query
    /// got no answer.
    public var rcode: String?
    /// The name that answered (absolute), when one did.
    public var answeredName: String?
    /// The answers of the type asked, as `dig +short` prints them.
    public var answers: [String] = []
    /// A probe by name: the address it connected to (the first answer).
    public var address: String?
    /// The answer came over TCP after a truncated UDP reply.
    public var overTCP: Bool?
}

extension NameLookup {
    /// The same lookup with the resolver a pod's `resolv.conf` text describes (its first
    /// nameserver, its search list, its ndots; `ResolverConfiguration(parsing:)`). Nil when the
    /// file names no IPv4 nameserver.
    public func reading(resolvConf text: String) -> NameLookup? {
        let resolver = ResolverConfiguration(parsing: text)
        guard let first = resolver.nameservers.first, let address = IPv4Address(first) else { return nil }
        var lookup = self
        lookup.resolver = resolver
        lookup.server = ProbeEndpoint(address: address, port: server.port)
        return lookup
    }
}
