import LabSpec

/// `expect: {reach: policy}`: what the lab's NetworkPolicies allow for one resolved probe,
/// from `PolicyEvaluator` (never from the rendered rules, so `verify` holds the kernel against
/// the spec).
enum PolicyReach {
    /// A ping is always allowed (kube-router accepts ICMP echo before any policy); a service is
    /// judged on its endpoints, as the kernel judges it after DNAT: reachable when every
    /// endpoint may be reached (a probe's try lands on any of them).
    static func allowed(_ kind: ProbeKind, from source: ProbeResolver.Endpoint, to target: ProbeResolver.Endpoint,
                        topology: Topology) -> Bool {
        let proto: TransportProtocol
        switch kind {
        case .ping, .exec: return true
        case .http, .tcp: proto = .tcp
        case .udp: proto = .udp
        }
        guard topology.policy != nil, let port = kind.port, let address = target.address else { return true }
        let evaluator = PolicyEvaluator(topology: topology)
        let from: PolicyEvaluator.Endpoint = topology.pod(named: source.display).map { .pod($0.name) }
            ?? source.address.map { .address($0) } ?? .pod(source.display)
        if let service = topology.services.first(where: { $0.clusterIP == address }) {
            let servicePort = service.ports.first { $0.port == port && $0.protocol == proto }
            let endpoints = service.endpoints.compactMap(topology.pod(named:)).compactMap { pod -> (PodTopology, Int)? in
                guard let servicePort, let number = pod.resolve(targetPort: servicePort.targetPort, protocol: proto) else { return nil }
                return (pod, number)
            }
            return !endpoints.isEmpty && endpoints.allSatisfy {
                evaluator.verdict(from: from, to: .pod($0.0.name), protocol: proto, port: $0.1).allowed
            }
        }
        return evaluator.verdict(from: from, to: .address(address), protocol: proto, port: port).allowed
    }
}
