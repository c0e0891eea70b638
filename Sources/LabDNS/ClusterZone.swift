import Glibc

/// The records a cluster DNS server answers from: the Kubernetes DNS specification's records
/// for every Service and pod, as CoreDNS's `kubernetes` plugin serves them with the kubeadm
/// Corefile (`kubernetes cluster.local in-addr.arpa ip6.arpa`, `pods insecure`, `ttl 30`).
/// Immutable: a changed lab builds a new zone and the server swaps it in whole.
///
/// Per service `<svc>.<ns>.svc.<domain>`:
/// - A: the ClusterIP; for a headless service one A per ready endpoint (none: the name does not
///   exist, so NXDOMAIN);
/// - A for each endpoint as `<a-b-c-d>.<svc>.<ns>.svc.<domain>` (CoreDNS names endpoints by
///   their dashed address);
/// - SRV `_<port>._<proto>.<svc>…` for named ports: the service name and port, or for a headless
///   service one record per endpoint with the endpoint's port;
/// - PTR for the ClusterIP, and for each endpoint address its endpoint name (the first service
///   in namespace/name order when a pod backs several).
/// Per pod: `<a-b-c-d>.<ns>.pod.<domain>` A, and a PTR to that name when no service claims the
/// address (a lab choice: CoreDNS would forward such a PTR upstream, and a lab has none).
/// At the apex: SOA, NS `ns.dns.<domain>` (with its A when the server's address is known), and
/// `dns-version.<domain>` TXT.
public struct ClusterZone: Sendable {
    /// The cluster domain, lower case.
    public let domain: DNSName
    public let options: ClusterDNSOptions
    /// Owner name (lower case) → its records, sorted.
    let records: [DNSName: [DNSRecord]]
    /// Every name that exists: owners and the names between them and their zone's apex (empty
    /// non-terminals such as `svc.<domain>` answer NOERROR with no data, RFC 8020).
    let existing: Set<DNSName>
    /// Lower-case Kubernetes namespaces; pod names need theirs to exist.
    let namespaces: Set<String>

    /// The reverse zones served next to the cluster domain.
    public static let reverseZones = [DNSName("in-addr.arpa")!, DNSName("ip6.arpa")!]

    /// The schema version of the Kubernetes DNS specification served.
    public static let specificationVersion = "1.1.0"

    /// Builds the zone. A name that would break DNS limits (a domain so long that a service's
    /// name exceeds 255 bytes) is left out rather than truncated.
    public init(_ input: ClusterDNSInput) {
        let domain = (DNSName(input.domain) ?? DNSName("cluster.local")!).key
        self.domain = domain
        options = input.options
        var build = ClusterZoneBuild(domain: domain, ttl: input.options.ttl)
        // 1. The apexes: what makes the server authoritative, and the names it says about itself.
        build.apexes(options: input.options, nameserver: input.nameserver)
        // 2. Services in namespace/name order: the first to claim an address names its PTR.
        for service in input.services.sorted(by: { ($0.namespace, $0.name) < ($1.namespace, $1.name) }) {
            build.service(service)
        }
        // 3. Pods after services, so an address a service claims keeps the service's name.
        if input.options.pods != .disabled { build.pods(input.pods) }
        // 4. One PTR per claimed address.
        build.pointers()
        // 5. The names that exist without records of their own.
        var namespaces = Set(input.namespaces.map { $0.lowercased() })
        namespaces.formUnion(input.services.map { $0.namespace.lowercased() })
        namespaces.formUnion(input.pods.map { $0.namespace.lowercased() })
        self.existing = build.existingNames(namespaces: namespaces)
        self.records = build.records.mapValues { $0.sorted(by: Self.canonicalOrder) }
        self.namespaces = namespaces
    }

    static func soa(apex: DNSName, options: ClusterDNSOptions) -> SOAData {
        SOAData(primary: DNSName(labels: [Array("ns".utf8), Array("dns".utf8)] + apex.labels)!,
                mailbox: DNSName(labels: [Array("hostmaster".utf8)] + apex.labels)!,
                serial: options.serial, refresh: 7200, retry: 1800, expire: 86400, minimum: options.ttl)
    }

    /// The apex of the zone `name` falls in, or nil when the server is not authoritative for it.
    static func apex(of name: DNSName, domain: DNSName) -> DNSName? {
        ([domain] + reverseZones).first { name.isWithin($0) }
    }

    /// The records of one name (any case), in canonical order; empty when there are none.
    public func records(named name: DNSName) -> [DNSRecord] { records[name.key] ?? [] }

    /// Every record, sorted by owner name, type and data: the zone as a zone file lists it.
    public var allRecords: [DNSRecord] {
        records.values.flatMap { $0 }.sorted(by: Self.canonicalOrder)
    }

    /// The zone as text, one record per line as dig prints them; what golden files pin.
    public var zoneText: String {
        allRecords.map { "\($0)\n" }.joined()
    }

    static func canonicalOrder(_ lhs: DNSRecord, _ rhs: DNSRecord) -> Bool {
        let left = (lhs.name.description, lhs.type.rawValue, lhs.data.text)
        let right = (rhs.name.description, rhs.type.rawValue, rhs.data.text)
        return left < right
    }
}

extension DNSRecord: CustomStringConvertible {
    /// `web.default.svc.cluster.local.	30	IN	A	10.96.0.20`, as dig prints a record.
    public var description: String { "\(name)\t\(ttl)\t\(self.class)\t\(type)\t\(data.text)" }
}

extension DNSRecordData {
    /// The RDATA in presentation form.
    public var text: String {
        switch self {
        case .a(let octets): return octets.map(String.init).joined(separator: ".")
        case .aaaa(let octets): return Self.ipv6Text(octets)
        case .ns(let name), .cname(let name), .ptr(let name): return name.description
        case .soa(let soa):
            return "\(soa.primary) \(soa.mailbox) \(soa.serial) \(soa.refresh) \(soa.retry) \(soa.expire) \(soa.minimum)"
        case .srv(let srv): return "\(srv.priority) \(srv.weight) \(srv.port) \(srv.target)"
        case .txt(let strings): return strings.map { "\"" + String(decoding: $0, as: UTF8.self) + "\"" }.joined(separator: " ")
        case .other(_, let bytes): return "\\# \(bytes.count)"
        }
    }

    /// RFC 5952 text (`fd00::1`), as inet_ntop and dig write it.
    static func ipv6Text(_ octets: [UInt8]) -> String {
        guard octets.count == 16 else { return "?" }
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: octets) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The records of one zone, gathered step by step in the order `ClusterZone.init` calls the
/// steps (the order decides which name an address's PTR points to).
struct ClusterZoneBuild {
    let domain: DNSName
    let ttl: UInt32
    /// Owner name (lower case) → its records, each once, in the order added.
    var records: [DNSName: [DNSRecord]] = [:]
    /// Address → the name its PTR points to: the first name that claimed it.
    var reverse: [IPv4: DNSName] = [:]

    init(domain: DNSName, ttl: UInt32) {
        self.domain = domain
        self.ttl = ttl
    }

    /// Adds a record once; a name that broke DNS limits (nil) is left out.
    mutating func add(_ name: DNSName?, _ data: DNSRecordData) {
        guard let name else { return }
        let record = DNSRecord(name: name.key, ttl: ttl, data: data)
        if records[record.name]?.contains(record) != true { records[record.name, default: []].append(record) }
    }

    /// `labels` (each may hold dots) followed by the cluster domain; nil when too long.
    func name(_ labels: String...) -> DNSName? {
        DNSName(labels: labels.flatMap { $0.split(separator: ".").map { Array($0.utf8) } } + domain.labels)?.key
    }

    /// The first name to claim an address keeps it.
    mutating func claim(_ address: IPv4, for name: DNSName) {
        if reverse[address] == nil { reverse[address] = name }
    }

    /// SOA and NS for the cluster domain and each reverse zone; the server's own A, when its
    /// address is known; the specification version as TXT.
    mutating func apexes(options: ClusterDNSOptions, nameserver: IPv4?) {
        for apex in [domain] + ClusterZone.reverseZones {
            add(apex, .soa(ClusterZone.soa(apex: apex, options: options)))
            add(apex, .ns(DNSName(labels: [Array("ns".utf8), Array("dns".utf8)] + apex.labels)!))
        }
        if let nameserver { add(name("ns.dns"), .a(nameserver.octets)) }
        add(name("dns-version"), .txt([Array(ClusterZone.specificationVersion.utf8)]))
    }

    /// A service's A records (the ClusterIP, or each ready endpoint when headless), its
    /// endpoints' dashed names, and the SRV records of its named ports.
    mutating func service(_ service: ClusterDNSInput.Service) {
        guard let serviceName = name(service.name, service.namespace, "svc") else { return }
        let endpoints = service.endpoints.sorted { $0.ip < $1.ip }
        if let clusterIP = service.clusterIP {
            add(serviceName, .a(clusterIP.octets))
            claim(clusterIP, for: serviceName)
        } else {
            for endpoint in endpoints { add(serviceName, .a(endpoint.ip.octets)) }
        }
        for endpoint in endpoints {
            guard let endpointName = serviceName.prepending(endpoint.ip.dashed) else { continue }
            add(endpointName, .a(endpoint.ip.octets))
            claim(endpoint.ip, for: endpointName)
        }
        for port in service.ports { srv(port, of: service, named: serviceName, endpoints: endpoints) }
    }

    /// `_<port>._<proto>.<svc>…` for a named port: the service itself when it has a ClusterIP,
    /// else one record per endpoint that serves the port under that name.
    mutating func srv(_ port: ClusterDNSInput.Port, of service: ClusterDNSInput.Service, named serviceName: DNSName,
                      endpoints: [ClusterDNSInput.Endpoint]) {
        guard let portName = port.name,
              let srvName = serviceName.prepending("_" + port.protocol.rawValue)?.prepending("_" + portName) else { return }
        if service.clusterIP != nil {
            add(srvName, .srv(SRVData(priority: 0, weight: 100, port: UInt16(clamping: port.port), target: serviceName)))
            return
        }
        let targets: [(DNSName, Int)] = endpoints.compactMap { endpoint in
            guard let endpointPort = endpoint.ports.first(where: { $0.name == portName && $0.protocol == port.protocol }),
                  let target = serviceName.prepending(endpoint.ip.dashed) else { return nil }
            return (target, endpointPort.port)
        }
        // CoreDNS spreads the weight evenly over the records of one name.
        let weight = UInt16(100 / max(targets.count, 1))
        for (target, number) in targets {
            add(srvName, .srv(SRVData(priority: 0, weight: weight, port: UInt16(clamping: number), target: target)))
        }
    }

    /// `<a-b-c-d>.<ns>.pod.<domain>` for each pod, in namespace/name order.
    mutating func pods(_ pods: [ClusterDNSInput.Pod]) {
        for pod in pods.sorted(by: { ($0.namespace, $0.name) < ($1.namespace, $1.name) }) {
            guard let podName = name(pod.ip.dashed, pod.namespace, "pod") else { continue }
            add(podName, .a(pod.ip.octets))
            claim(pod.ip, for: podName)
        }
    }

    /// One PTR per claimed address, to the name that claimed it first.
    mutating func pointers() {
        for (ip, target) in reverse { add(ip.reverseName, .ptr(target)) }
    }

    /// Every owner and every name between it and its zone's apex (empty non-terminals), and
    /// each namespace's `svc` and `pod` names, which exist even when nothing is in them.
    func existingNames(namespaces: Set<String>) -> Set<DNSName> {
        var existing = Set<DNSName>()
        for owner in records.keys {
            let apex = ClusterZone.apex(of: owner, domain: domain)!
            for index in 0...(owner.labels.count - apex.labels.count) { existing.insert(owner.dropping(index)) }
        }
        for namespace in namespaces {
            for kind in ["svc", "pod"] { if let name = name(namespace, kind) { existing.insert(name) } }
        }
        return existing
    }
}
