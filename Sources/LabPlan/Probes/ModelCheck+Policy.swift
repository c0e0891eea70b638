import LabSpec

extension ModelCheck {
    /// The policy truth table: on every port some pod's agent serves (TCP and UDP), every pod
    /// to every pod that serves it — all pairs up to `largestTable` pods, the covering set
    /// above — expecting exactly what the NetworkPolicies allow. One group per port, so
    /// `verify` prints expected and observed grids for each.
    static func policyProbes(_ topology: Topology, coverage: Coverage, evaluator: PolicyEvaluator) -> [ResolvedProbe] {
        let pairs = topology.pods.count <= largestTable && coverage == .covering
            ? CoveringSet.allPairs(count: topology.pods.count) : reachPairs(topology, coverage: coverage)
        var probes: [ResolvedProbe] = []
        for (port, proto) in servedPorts(topology) {
            let group = "model: policy \(port)/\(proto.rawValue)"
            for pair in pairs {
                let source = topology.pods[pair.source], target = topology.pods[pair.target]
                guard let kind = probeKind(target, port: port, protocol: proto) else { continue }
                let verdict = evaluator.verdict(from: .pod(source.name), to: .pod(target.name), protocol: proto, port: port)
                // Labelled `namespace/pod`, as the upstream e2e suite labels its grids.
                let from = "\(source.namespace)/\(source.name)", to = "\(target.namespace)/\(target.name)"
                probes.append(ResolvedProbe(
                    name: "\(group): \(from) → \(to)", group: topology.pods.count <= largestTable ? group : nil,
                    from: from, to: to, fromNetns: source.netns, address: target.ip, port: port, kind: kind,
                    expect: byPolicy(verdict.allowed), repeatCount: 1, timeoutMilliseconds: timeout, retries: 1))
            }
        }
        return probes
    }

    /// An expectation settled by the policies (reported as such: the grid gets its comparison).
    static func byPolicy(_ allowed: Bool) -> ProbeExpectation {
        var expect = ProbeExpectation(reach: allowed)
        expect.reachByPolicy = true
        return expect
    }

    /// Every (port, protocol) an agent of the lab serves, in order.
    static func servedPorts(_ topology: Topology) -> [(Int, TransportProtocol)] {
        var seen: Set<String> = [], ports: [(Int, TransportProtocol)] = []
        for pod in topology.pods {
            for container in pod.containers {
                for agentPort in container.agentPorts where seen.insert("\(agentPort.port)/\(agentPort.kind.transport)").inserted {
                    ports.append((agentPort.port, agentPort.kind.transport))
                }
            }
        }
        return ports.sorted { ($0.0, $0.1.rawValue) < ($1.0, $1.1.rawValue) }
    }

    /// How to ask `target` on that port: HTTP where its agent serves HTTP, else TCP or UDP;
    /// nil where it serves nothing there (a refusal would be no policy's doing).
    static func probeKind(_ target: PodTopology, port: Int, protocol proto: TransportProtocol) -> ProbeKind? {
        let served = target.containers.flatMap(\.agentPorts).filter { $0.port == port && $0.kind.transport == proto }
        if served.contains(where: { $0.kind == .http }) { return .http(port: port, path: "/", method: "GET") }
        if served.contains(where: { $0.kind == .tcp }) { return .tcp(port: port) }
        if served.contains(where: { $0.kind == .udp }) { return .udp(port: port, payload: "hello") }
        return nil
    }
}
