import LabAddress
import LabPlan
import LabSpec

extension ClusterDNSInput {
    /// The DNS facts of a settled lab: its services (ClusterIP, or the endpoint pods'
    /// addresses when headless), each endpoint's named ports as the pod resolves them, and its
    /// pods. Every endpoint of the topology counts as ready: readiness is not modelled yet.
    public init(topology: Topology, domain: String = "cluster.local", namespaces: [String] = [],
                nameserver: IPv4? = nil, options: ClusterDNSOptions = ClusterDNSOptions()) {
        let podsByName = Dictionary(topology.pods.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let services = topology.services.map { service in
            let ports = service.ports.map { Port(name: $0.name, protocol: TransportName($0.protocol), port: $0.port) }
            let endpoints = service.endpoints.compactMap { name -> Endpoint? in
                guard let pod = podsByName[name] else { return nil }
                let endpointPorts = service.ports.compactMap { port -> Port? in
                    guard let number = pod.resolve(targetPort: port.targetPort, protocol: port.protocol) else { return nil }
                    return Port(name: port.name, protocol: TransportName(port.protocol), port: number)
                }
                return Endpoint(ip: pod.ip, ports: endpointPorts)
            }
            return Service(name: service.name, namespace: service.namespace,
                           clusterIP: service.clusterIP, ports: ports, endpoints: endpoints)
        }
        let pods = topology.pods.map { Pod(name: $0.name, namespace: $0.namespace, ip: $0.ip) }
        let declared = topology.policy?.namespaces.map(\.name) ?? []
        self.init(domain: domain, services: services, pods: pods, namespaces: declared + namespaces,
                  nameserver: nameserver, options: options)
    }
}

extension ClusterZone {
    /// The zone a lab's cluster DNS serves: its domain, its ClusterIP as the nameserver; nil
    /// for a lab without cluster DNS. The supervisor serves it, the golden files pin it.
    public init?(topology: Topology) {
        guard let dns = topology.dns else { return nil }
        self.init(ClusterDNSInput(topology: topology, domain: dns.domain, nameserver: dns.clusterIP))
    }
}

extension ClusterDNSInput.TransportName {
    init(_ transport: TransportProtocol) {
        switch transport {
        case .tcp: self = .tcp
        case .udp: self = .udp
        case .sctp: self = .sctp
        }
    }
}
