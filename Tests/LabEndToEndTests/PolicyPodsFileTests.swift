import Foundation
@testable import LabPlan
import LabSpec
@testable import LabRuntime
import Testing

/// `policy-pods.tsv`: what a change of policies alone reads of the pods, made from a saved
/// `topology.json` and refused for any other. Pure.
struct PolicyPodsFileTests {
    static func topology(pods: Int = 12, port: Int = 8080) throws -> Topology {
        var text = TopologyFileTests.text(TopologyFileTests.two, pods: 0)
        text = text.replacingOccurrences(of: "pods:\n", with: "pods:\n" + (0..<pods).map { index in
            "  - {name: p\(index), namespace: \(index % 2 == 0 ? "x" : "default"), node: node-\(index % 2 + 1), labels: {app: a\(index % 3)}, "
                + "containers: [{name: c, agent: {tcp: [80, \(port)]}, ports: [{name: http, containerPort: \(port)}]}]}\n"
        }.joined())
        return try TopologyFileTests.topology(text)
    }

    /// The partial topology agrees with the whole one in every field the policies read, and in
    /// everything but the pods.
    @Test func itHoldsWhatThePoliciesRead() throws {
        let whole = try Self.topology()
        let data = try LabState.topologyEncoder().encode(whole)
        let file = try #require(PolicyPodsFile(whole, savedAs: data)?.encoded())
        let partial = try #require(PolicyPodsFile.topology(from: data, file: file))
        var rest = whole, partialRest = partial
        rest.pods = []
        partialRest.pods = []
        #expect(partialRest == rest)
        #expect(partial.pods.count == whole.pods.count)
        for (pod, full) in zip(partial.pods, whole.pods) {
            #expect(pod.name == full.name && pod.namespace == full.namespace && pod.node == full.node && pod.netns == full.netns)
            #expect(pod.ip == full.ip && pod.prefixLength == full.prefixLength && pod.gateway == full.gateway && pod.labels == full.labels)
            #expect(pod.containers.map(\.name) == full.containers.map(\.name) && pod.containers.map(\.ports) == full.containers.map(\.ports))
        }
        let (context, partialContext) = (LabController.policyCheckContext(whole), LabController.policyCheckContext(partial))
        #expect(partialContext.declaredPorts == context.declaredPorts && partialContext.declaredPorts == ["http"])
        #expect(partialContext.pods.map(\.labels) == context.pods.map(\.labels) && partialContext.pods.map(\.namespace) == context.pods.map(\.namespace))
        // The policies' rules render the same from either.
        for node in whole.nodes {
            let layout = PolicyLayout.Shared(topology: whole, eager: false).layout(of: node)
            let partialLayout = PolicyLayout.Shared(topology: partial, eager: false).layout(of: node)
            #expect(layout.map { NetworkPolicyNFTables.render($0, topology: whole) } == partialLayout.map { NetworkPolicyNFTables.render($0, topology: partial) })
            #expect(layout.map { NetworkPolicyIPTables.ipsets($0.sets).text } == partialLayout.map { NetworkPolicyIPTables.ipsets($0.sets).text })
        }
    }

    /// Every field comes back as it was written, an unnamed port included; a string with a
    /// tab or a line break has no file (the caller then decodes `topology.json` whole).
    @Test func itReadsBackWhatItWrote() throws {
        var whole = try Self.topology(pods: 3)
        whole.pods[1].containers[0].ports.append(ContainerPortTopology(name: nil, port: 9000, protocol: .udp))
        whole.pods[2].labels = [:]
        whole.pods[2].containers = []
        let data = try LabState.topologyEncoder().encode(whole)
        let file = try #require(PolicyPodsFile(whole, savedAs: data))
        #expect(PolicyPodsFile(decoding: try #require(file.encoded())) == file)
        for bad in ["a\tb", "a\nb", "a\rb", "a\r\nb"] {
            var odd = whole
            odd.pods[0].labels["app"] = bad
            #expect(PolicyPodsFile(odd, savedAs: data)?.encoded() == nil)
        }
    }

    /// A file made from other pods, a damaged one, or a `topology.json` laid out otherwise is
    /// refused: the caller then decodes `topology.json` whole.
    @Test func aStaleOrDamagedFileIsRefused() throws {
        let whole = try Self.topology()
        let encoder = LabState.topologyEncoder()
        let data = try encoder.encode(whole)
        let file = try #require(PolicyPodsFile(whole, savedAs: data)?.encoded())
        let otherPort = try encoder.encode(Self.topology(port: 8081))
        #expect(PolicyPodsFile.topology(from: otherPort, file: file) == nil)
        let morePods = try encoder.encode(Self.topology(pods: 13))
        #expect(PolicyPodsFile.topology(from: morePods, file: file) == nil)
        #expect(PolicyPodsFile.topology(from: data, file: file.dropLast()) == nil)
        #expect(PolicyPodsFile.topology(from: try JSONEncoder().encode(whole), file: file) == nil)
        // Cut short anywhere but after its last line, or with a line of another shape.
        let text = try #require(String(data: file, encoding: .utf8))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(PolicyPodsFile(decoding: Data(lines.dropLast(2).joined(separator: "\n").utf8 + [UInt8(ascii: "\n")])) == nil)
        #expect(PolicyPodsFile(decoding: Data(text.replacingOccurrences(of: "\tTCP\n", with: "\tTCP\textra\n").utf8)) == nil)
        #expect(PolicyPodsFile(decoding: Data(text.replacingOccurrences(of: "lab-policy-pods\t1\t", with: "lab-policy-pods\t2\t").utf8)) == nil)
        // Other policies leave the pods' bytes, and the file, as they were.
        var other = whole
        other.policy?.policies.removeLast()
        #expect(PolicyPodsFile.topology(from: try encoder.encode(other), file: file) != nil)
    }
}
