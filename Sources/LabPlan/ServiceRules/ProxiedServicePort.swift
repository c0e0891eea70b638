import LabAddress
import LabSpec

/// One service port as the proxy of one node sees it: the `svcPortMap` entry plus its
/// `endpointsMap` entry in kube-proxy, already split into all and node-local endpoints. Both
/// rule renderers work from this, so iptables and nftables modes always agree on which ports
/// exist, which endpoints they have and in what order.
public struct ProxiedServicePort: Sendable, Hashable {
    public var name: ServicePortName
    public var clusterIP: IPv4Address
    public var port: Int
    /// nil: no NodePort (a ClusterIP service; a NodePort service's ports always get one).
    public var nodePort: Int?
    /// Seconds a client stays pinned to its endpoint; nil without `sessionAffinity: ClientIP`.
    public var affinityTimeoutSeconds: Int?
    /// `externalTrafficPolicy: Local` on a port that takes external traffic (kube-proxy's
    /// `ExternalPolicyLocal()` is false without a NodePort, whatever the spec says).
    public var externalPolicyLocal: Bool
    /// Every ready endpoint in the cluster, sorted by `ip:port` text as kube-proxy's
    /// EndpointSlice cache sorts them (so `10.244.1.10` comes before `10.244.1.2`).
    public var endpoints: [ServiceEndpoint]
    /// The target port's name when it is a name that no endpoint pod declares: such a port has
    /// no endpoints, as in Kubernetes.
    public var unresolvedTargetPort: String?

    /// Endpoints on the node the rules are for.
    public var localEndpoints: [ServiceEndpoint] { endpoints.filter(\.isLocal) }
    public var hasEndpoints: Bool { !endpoints.isEmpty }
    public var externallyAccessible: Bool { nodePort != nil }
    /// Whether external traffic has anywhere to go on this node.
    public var hasExternalEndpoints: Bool { hasEndpoints && (!externalPolicyLocal || !localEndpoints.isEmpty) }
    /// `KUBE-SVL` / `local-…` exists only for a Local policy with endpoints on this node.
    public var usesLocalPolicyChain: Bool { externalPolicyLocal && !localEndpoints.isEmpty }

    /// The service ports that get rules on `node`, in the order the renderers write them.
    /// Headless services have no VIP and are skipped, as `ShouldSkipService` skips them.
    public static func all(in topology: Topology, node: String) -> [ProxiedServicePort] {
        all(in: topology).map { $0.localized(to: node) }
    }

    /// This port on `node`: its endpoints on that node marked local.
    public func localized(to node: String) -> ProxiedServicePort {
        var port = self
        port.endpoints = endpoints.map { endpoint in
            var endpoint = endpoint
            endpoint.isLocal = endpoint.node == node
            return endpoint
        }
        return port
    }

    /// The service ports of the lab, as on no node (no endpoint local).
    static func all(in topology: Topology) -> [ProxiedServicePort] {
        var ports: [ProxiedServicePort] = []
        // Looked up by name once: a search per endpoint is quadratic in the lab's pods.
        let podsByName = Dictionary(topology.pods.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for service in topology.services {
            guard service.type != .headless, let clusterIP = service.clusterIP else { continue }
            let pods = service.endpoints.compactMap { podsByName[$0] }
            for port in service.ports {
                let name = ServicePortName(namespace: service.namespace, name: service.name,
                                           port: port.name ?? "", protocol: port.protocol.rawValue)
                // A named targetPort is resolved pod by pod: each may serve it on another number.
                let endpoints = pods.compactMap { pod in
                    pod.resolve(targetPort: port.targetPort, protocol: port.protocol).map {
                        ServiceEndpoint(ip: pod.ip, port: $0, node: pod.node, isLocal: false)
                    }
                }.sorted { $0.text < $1.text }
                ports.append(ProxiedServicePort(
                    name: name, clusterIP: clusterIP, port: port.port, nodePort: port.nodePort,
                    affinityTimeoutSeconds: service.sessionAffinity == .clientIP ? service.affinityTimeoutSeconds : nil,
                    externalPolicyLocal: service.externalTrafficPolicy == .local && port.nodePort != nil,
                    endpoints: endpoints,
                    unresolvedTargetPort: port.targetPort.name.flatMap { endpoints.isEmpty ? $0 : nil }))
            }
        }
        return ports.sorted { $0.name < $1.name }
    }
}

/// A pod serving a service port: kube-proxy's `BaseEndpointInfo`.
public struct ServiceEndpoint: Sendable, Hashable {
    public var ip: IPv4Address
    public var port: Int
    public var node: String
    public var isLocal: Bool

    /// `ip:port`, the text kube-proxy hashes, sorts by, and DNATs to.
    public var text: String { "\(ip):\(port)" }
}
