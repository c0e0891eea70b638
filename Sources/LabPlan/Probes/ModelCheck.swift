import LabSpec

/// The probes that check a lab against the Kubernetes network model itself (DESIGN §6), for a
/// lab without probes or `lab verify --model`:
/// - every pod reaches every other pod, and its own node;
/// - without NAT: where the target runs an HTTP agent, it sees the caller's own pod IP;
/// - every service reaches each of its endpoints (over its ClusterIP, `servedBy` all of them).
public enum ModelCheck {
    public static let reachGroup = "model: pod → pod"

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
        return "\(pods) pods: all \(pods * max(0, pods - 1)) pod pairs"
    }

    public static func probes(_ topology: Topology, coverage: Coverage = .covering) -> [ResolvedProbe] {
        var probes: [ResolvedProbe] = []
        let timeout = 2000
        for source in topology.pods {
            for target in topology.pods where target.name != source.name {
                probes.append(ResolvedProbe(
                    name: "\(reachGroup): \(source.name) → \(target.name)", group: reachGroup, from: source.name, to: target.name,
                    fromNamespace: source.namespace, address: target.ip, port: nil, kind: .ping(count: 1),
                    expect: ProbeExpectation(), repeatCount: 1, timeoutMilliseconds: timeout, retries: 1))
            }
            if let node = topology.node(named: source.node) {
                probes.append(ResolvedProbe(
                    name: "model: \(source.name) → its node \(node.name)", group: nil, from: source.name, to: "node/\(node.name)",
                    fromNamespace: source.namespace, address: node.ip, port: nil, kind: .ping(count: 1),
                    expect: ProbeExpectation(), repeatCount: 1, timeoutMilliseconds: timeout, retries: 1))
            }
        }
        for source in topology.pods {
            for target in topology.pods where target.name != source.name {
                guard let port = httpAgentPort(target) else { continue }
                probes.append(ResolvedProbe(
                    name: "model: no NAT \(source.name) → \(target.name)", group: nil, from: source.name, to: target.name,
                    fromNamespace: source.namespace, address: target.ip, port: port,
                    kind: .http(port: port, path: "/clientip", method: "GET"),
                    expect: ProbeExpectation(clientIP: source.ip.description), repeatCount: 1, timeoutMilliseconds: timeout, retries: 1))
            }
        }
        for service in topology.services {
            guard let clusterIP = service.clusterIP, !service.endpoints.isEmpty else { continue }
            let endpoints = service.endpoints.compactMap(topology.pod(named:))
            // A client that is not itself an endpoint, so the check is not a hairpin.
            guard let client = topology.pods.first(where: { !service.endpoints.contains($0.name) }) ?? topology.pods.first else { continue }
            for port in service.ports where port.protocol == "TCP" {
                let servesHTTP = endpoints.allSatisfy { pod in
                    let target = pod.resolve(targetPort: port.targetPort, protocol: port.protocol)
                    return pod.containers.contains { container in target.map(container.httpPorts.contains) ?? false }
                }
                let kind: ProbeKind = servesHTTP ? .http(port: port.port, path: "/hostname", method: "GET") : .tcp(port: port.port)
                probes.append(ResolvedProbe(
                    name: "model: service/\(service.name):\(port.port) reaches each endpoint", group: nil, from: client.name,
                    to: "service/\(service.name)", fromNamespace: client.namespace, address: clusterIP, port: port.port, kind: kind,
                    expect: ProbeExpectation(servedBy: servesHTTP ? service.endpoints : nil),
                    repeatCount: servesHTTP ? max(10, 8 * endpoints.count) : 1, timeoutMilliseconds: timeout, retries: 1))
            }
        }
        return probes
    }

    static func httpAgentPort(_ pod: PodTopology) -> Int? {
        pod.containers.first { $0.isAgent && !$0.httpPorts.isEmpty }?.httpPorts.first
    }
}
