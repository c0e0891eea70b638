import LabAddress
import LabSpec

/// `expect: {reach: policy}`: what the lab's NetworkPolicies allow for one resolved probe,
/// from `PolicyEvaluator` (never from the rendered rules, so `verify` holds the kernel against
/// the spec).
enum PolicyReach {
    /// Every `reach: policy` expectation of `probes` settled, with one evaluator for them all
    /// (building it reads every pod; a matrix may hold thousands of such probes).
    static func settle(_ probes: [ResolvedProbe], topology: Topology) -> [ResolvedProbe] {
        guard probes.contains(where: \.expect.reachByPolicy) else { return probes }
        guard topology.policy != nil else { return probes }
        let evaluator = PolicyEvaluator(topology: topology)
        let services = Dictionary(topology.services.compactMap { service in service.clusterIP.map { ($0, service) } },
                                  uniquingKeysWith: { first, _ in first })
        let pods = Dictionary(topology.pods.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let machines = Dictionary(topology.machines.map { ($0.object, $0.ip) }, uniquingKeysWith: { first, _ in first })
        return probes.map { probe in
            guard probe.expect.reachByPolicy else { return probe }
            var settled = probe
            let source: PolicyEvaluator.Endpoint = machines[probe.from].map { .address($0) } ?? .pod(probe.from)
            settled.expect.reach = allowed(probe.kind, from: source, to: probe.address, evaluator: evaluator,
                                           services: services, pods: pods)
            return settled
        }
    }

    /// A ping is always allowed (kube-router accepts ICMP echo before any policy); a service is
    /// judged on its endpoints, as the kernel judges it after DNAT: reachable when every
    /// endpoint may be reached (a probe's try lands on any of them).
    static func allowed(_ kind: ProbeKind, from source: PolicyEvaluator.Endpoint, to address: IPv4Address?, evaluator: PolicyEvaluator,
                        services: [IPv4Address: ServiceTopology], pods: [String: PodTopology]) -> Bool {
        let proto: TransportProtocol
        switch kind {
        case .ping, .exec, .dns: return true
        case .http, .tcp: proto = .tcp
        case .udp: proto = .udp
        }
        guard let port = kind.port, let address else { return true }
        if let service = services[address] {
            let servicePort = service.ports.first { $0.port == port && $0.protocol == proto }
            let endpoints = service.endpoints.compactMap { pods[$0] }.compactMap { pod -> (PodTopology, Int)? in
                guard let servicePort, let number = pod.resolve(targetPort: servicePort.targetPort, protocol: proto) else { return nil }
                return (pod, number)
            }
            return !endpoints.isEmpty && endpoints.allSatisfy {
                evaluator.verdict(from: source, to: .pod($0.0.name), protocol: proto, port: $0.1).allowed
            }
        }
        return evaluator.verdict(from: source, to: .address(address), protocol: proto, port: port).allowed
    }
}
