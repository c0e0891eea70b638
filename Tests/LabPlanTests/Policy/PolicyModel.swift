import LabSpec
@testable import LabPlan

/// The upstream e2e suite's model (`test/e2e/network/netpol`): namespaces x, y, z with pods a,
/// b, c labelled `pod=<name>`, each serving 80 and 81 over TCP and UDP under the port names
/// `serve-<port>-<proto>`. Lab pod names are lab-wide, so pod `a` of namespace `x` is `x-a`.
/// Pods alternate between two nodes, so same-node and cross-node pairs both occur.
enum PolicyModel {
    static let namespaces = ["x", "y", "z"]
    static let pods = ["a", "b", "c"]
    /// `x/a`, `x/b`, … in the suite's order: rows and columns of its truth tables.
    static let all = namespaces.flatMap { ns in pods.map { "\(ns)/\($0)" } }

    static func podName(_ key: String) -> String { key.replacingOccurrences(of: "/", with: "-") }

    /// The lab file of the model with `policies` (YAML list items) appended.
    static func text(policies: String) -> String {
        var text = """
        name: netpol
        nodes: [{name: node-1}, {name: node-2}]
        pods:

        """
        for (index, key) in all.enumerated() {
            let parts = key.split(separator: "/")
            text += "  - {name: \(podName(key)), namespace: \(parts[0]), node: node-\(index % 2 + 1), labels: {pod: \(parts[1])}, "
            text += "containers: [{name: serve, agent: {tcp: [80, 81], udp: [80, 81]}, ports: ["
            text += "{name: serve-80-tcp, containerPort: 80}, {name: serve-81-tcp, containerPort: 81}, "
            text += "{name: serve-80-udp, containerPort: 80, protocol: UDP}, {name: serve-81-udp, containerPort: 81, protocol: UDP}]}]}\n"
        }
        return text + "networkPolicies:\n" + policies
    }

    static func evaluator(policies: String) throws -> PolicyEvaluator {
        let loaded = try LabFileLoader.parse(text(policies: policies), file: "netpol.yaml")
        let topology = try TopologyBuilder.build(loaded.lab)
        return PolicyEvaluator(topology: topology, policies: loaded.lab.networkPolicies, namespaces: loaded.lab.allNamespaces)
    }

    /// The evaluator's answer for every ordered pair of the model (a pod to itself excluded,
    /// as the upstream suite excludes it).
    static func observed(_ evaluator: PolicyEvaluator, protocol proto: TransportProtocol = .tcp, port: Int = 80) -> Reachability {
        var reach = Reachability(default: true)
        for from in all {
            for to in all where from != to {
                let verdict = evaluator.verdict(from: .pod(podName(from)), to: .pod(podName(to)), protocol: proto, port: port)
                reach.set(from: from, to: to, verdict.allowed)
            }
        }
        return reach
    }
}

/// Expected reachability, written as the upstream suite writes it: a default, then peers
/// (`x/a`, `x/*`, `*/b`, `*/*`) whose traffic is allowed or not.
struct Reachability: Equatable, CustomStringConvertible {
    private(set) var cells: [String: Bool] = [:]

    init(default allowed: Bool) {
        for from in PolicyModel.all { for to in PolicyModel.all where from != to { cells["\(from)>\(to)"] = allowed } }
    }

    mutating func set(from: String, to: String, _ allowed: Bool) { cells["\(from)>\(to)"] = allowed }

    /// Every pair whose source matches `from` and destination matches `to`.
    mutating func expect(from: String = "*/*", to: String = "*/*", _ allowed: Bool) {
        for source in PolicyModel.all where Self.matches(from, source) {
            for destination in PolicyModel.all where source != destination && Self.matches(to, destination) {
                cells["\(source)>\(destination)"] = allowed
            }
        }
    }

    private static func matches(_ pattern: String, _ key: String) -> Bool {
        let p = pattern.split(separator: "/"), k = key.split(separator: "/")
        return (p[0] == "*" || p[0] == k[0]) && (p[1] == "*" || p[1] == k[1])
    }

    /// The upstream truth table: rows are clients, columns servers, `.` reachable, `X` not.
    var description: String {
        let header = (["-"] + PolicyModel.all).joined(separator: "\t")
        let rows = PolicyModel.all.map { from in
            ([from] + PolicyModel.all.map { to in from == to ? "." : (cells["\(from)>\(to)"]! ? "." : "X") }).joined(separator: "\t")
        }
        return ([header] + rows).joined(separator: "\n")
    }
}
