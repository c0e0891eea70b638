import LabSpec

/// The probes that check a lab against the Kubernetes network model itself, for a lab without
/// probes or `lab verify --model`:
/// - every pod reaches pods on every node, and its own node;
/// - without NAT: where the target runs an HTTP agent, it sees the caller's own pod IP;
/// - every service reaches each of its endpoints (over its ClusterIP, `servedBy` all of them);
/// - with cluster DNS, every service resolves from every namespace (`ModelCheck+DNS`).
///
/// All pairs grow with the square of the pods (2 million probes at 1,000 pods), so by default
/// the check probes a covering set that grows with pods × nodes and still finds a pod cut off
/// from any one node: see `CoveringSet`. `--all-pairs` asks for every ordered pair.
public enum ModelCheck {
    public static let reachGroup = "model: pod → pod"

    /// A truth table of more sources than this is too wide to read; the reach probes of larger
    /// labs are reported line by line only.
    public static let largestTable = 60

    /// How many pod pairs the check probes.
    public enum Coverage: Sendable {
        /// A set that grows with pods × nodes: every pod to one pod on every node.
        case covering
        /// Every ordered pod pair (quadratic).
        case allPairs
    }

    /// The report's first line: what the check covers, e.g.
    /// `1,000 pods: 10,000 of 999,000 pod pairs, every pod to every node; --all-pairs for all`.
    public static func summary(_ topology: Topology, coverage: Coverage) -> String {
        let pods = topology.pods.count
        let all = pods * max(0, pods - 1)
        let podsText = "\(NumberText.grouped(pods)) \(pods == 1 ? "pod" : "pods")"
        switch coverage {
        case .allPairs:
            return "\(podsText): all \(NumberText.grouped(all)) pod pairs"
        case .covering:
            let probed = Set(reachPairs(topology, coverage: .covering).map { "\($0.source)>\($0.target)" }).count
            if probed == all { return "\(podsText): all \(NumberText.grouped(all)) pod pairs" }
            return "\(podsText): \(NumberText.grouped(probed)) of \(NumberText.grouped(all)) pod pairs, every pod to every node; --all-pairs for all"
        }
    }

    static let timeout = 2000

    /// The name rows ask the lab's cluster DNS (none in a lab without one).
    public static func probes(_ topology: Topology, coverage: Coverage = .covering) -> [ResolvedProbe] {
        let policy = topology.policy == nil ? nil : PolicyEvaluator(topology: topology)
        let dns = topology.dns.map { dnsProbes(topology, dns: $0, policy: policy) } ?? []
        return reachProbes(topology, coverage: coverage) + noNATProbes(topology, coverage: coverage, policy: policy)
            + serviceProbes(topology, policy: policy) + dns
            + (policy.map { policyProbes(topology, coverage: coverage, evaluator: $0) } ?? [])
    }

    /// Pings: every pod to pods on every node, and to its own node. NetworkPolicies never block
    /// them (ICMP echo is accepted before any policy, as kube-router does).
    static func reachProbes(_ topology: Topology, coverage: Coverage) -> [ResolvedProbe] {
        var probes: [ResolvedProbe] = []
        let group = topology.pods.count <= largestTable ? reachGroup : nil
        let reach = Dictionary(grouping: reachPairs(topology, coverage: coverage), by: \.source)
        for (index, source) in topology.pods.enumerated() {
            for pair in reach[index] ?? [] {
                let target = topology.pods[pair.target]
                probes.append(ResolvedProbe(
                    name: "\(reachGroup): \(source.name) → \(target.name)", group: group, from: source.name, to: target.name,
                    fromNetns: source.netns, address: target.ip, port: nil, kind: .ping(count: 1),
                    expect: ProbeExpectation(), repeatCount: 1, timeoutMilliseconds: timeout, retries: 1))
            }
            if let node = topology.node(named: source.node) {
                probes.append(ResolvedProbe(
                    name: "model: \(source.name) → its node \(node.name)", group: nil, from: source.name, to: "node/\(node.name)",
                    fromNetns: source.netns, address: node.ip, port: nil, kind: .ping(count: 1),
                    expect: ProbeExpectation(), repeatCount: 1, timeoutMilliseconds: timeout, retries: 1))
            }
        }
        return probes
    }

    /// Where the target runs an HTTP agent, it sees the caller's own pod IP — unless a policy
    /// denies the pair, which must then get no answer.
    static func noNATProbes(_ topology: Topology, coverage: Coverage, policy: PolicyEvaluator?) -> [ResolvedProbe] {
        noNATPairs(topology, coverage: coverage).compactMap { pair in
            let source = topology.pods[pair.source], target = topology.pods[pair.target]
            guard let port = httpAgentPort(target) else { return nil }
            let allowed = policy?.verdict(from: .pod(source.name), to: .pod(target.name), protocol: .tcp, port: port).allowed ?? true
            return ResolvedProbe(
                name: "model: no NAT \(source.name) → \(target.name)", group: nil, from: source.name, to: target.name,
                fromNetns: source.netns, address: target.ip, port: port,
                kind: .http(port: port, path: "/clientip", method: "GET"),
                expect: allowed ? ProbeExpectation(clientIP: source.ip.description) : ProbeExpectation(reach: false),
                repeatCount: 1, timeoutMilliseconds: timeout, retries: 1)
        }
    }

    /// Every TCP service port reaches each endpoint over its ClusterIP, from a client that is
    /// not itself an endpoint (no hairpin) and, with policies, that they allow to every endpoint.
    static func serviceProbes(_ topology: Topology, policy: PolicyEvaluator?) -> [ResolvedProbe] {
        var probes: [ResolvedProbe] = []
        let pods = topology.podsByName
        for service in topology.services {
            guard let clusterIP = service.clusterIP, !service.endpoints.isEmpty else { continue }
            let endpoints = service.endpoints.compactMap { pods[$0] }
            for port in service.ports where port.protocol == .tcp {
                let targets = endpoints.compactMap { pod in pod.resolve(targetPort: port.targetPort, protocol: .tcp).map { (pod, $0) } }
                func allowed(_ client: PodTopology) -> Bool {
                    policy.map { evaluator in
                        targets.allSatisfy { evaluator.verdict(from: .pod(client.name), to: .pod($0.0.name), protocol: .tcp, port: $0.1).allowed }
                    } ?? true
                }
                let clients = topology.pods.filter { !service.endpoints.contains($0.name) } + topology.pods
                guard let client = clients.first(where: allowed) else { continue }
                let servesHTTP = targets.count == endpoints.count && targets.allSatisfy { pod, number in
                    pod.containers.contains { $0.agentPorts(.http).contains(number) }
                }
                let kind: ProbeKind = servesHTTP ? .http(port: port.port, path: "/hostname", method: "GET") : .tcp(port: port.port)
                probes.append(ResolvedProbe(
                    name: "model: service/\(service.name):\(port.port) reaches each endpoint", group: nil, from: client.name,
                    to: "service/\(service.name)", fromNetns: client.netns, address: clusterIP, port: port.port, kind: kind,
                    expect: ProbeExpectation(servedBy: servesHTTP ? service.endpoints : nil),
                    repeatCount: servesHTTP ? max(10, 8 * endpoints.count) : 1, timeoutMilliseconds: timeout, retries: 1))
            }
        }
        return probes
    }

    /// The ping pairs (indices into `topology.pods`), sources in file order.
    static func reachPairs(_ topology: Topology, coverage: Coverage) -> [CoveringSet.Pair] {
        switch coverage {
        case .allPairs: return CoveringSet.allPairs(count: topology.pods.count)
        case .covering: return CoveringSet.reach(nodeOf: CoveringSet.nodeIndices(topology))
        }
    }

    /// The pairs whose no-NAT check runs: every ordered pair, or the covering set's, with a
    /// target that runs an HTTP agent.
    static func noNATPairs(_ topology: Topology, coverage: Coverage) -> [CoveringSet.Pair] {
        let pairs: [CoveringSet.Pair]
        switch coverage {
        case .allPairs: pairs = CoveringSet.allPairs(count: topology.pods.count)
        case .covering:
            pairs = CoveringSet.noNAT(nodeOf: CoveringSet.nodeIndices(topology), eligible: topology.pods.map { httpAgentPort($0) != nil })
        }
        return pairs.filter { httpAgentPort(topology.pods[$0.target]) != nil }
    }

    static func httpAgentPort(_ pod: PodTopology) -> Int? {
        pod.containers.lazy.compactMap { $0.agentPorts(.http).first }.first
    }

}
