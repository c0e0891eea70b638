import Foundation
import LabPlan
import LabSpec
@testable import LabRuntime
import Testing

/// `topology.json` of a change of policies alone is the old file with the new policies' JSON
/// in place of the old: byte for byte what encoding the new topology gives. Pure.
struct TopologyFileTests {
    static func text(_ policies: String, pods: Int = 12) -> String {
        var text = "name: tf\nnodes: [{name: node-1}, {name: node-2}]\nnamespaces: [{name: x, labels: {team: red}}]\npods:\n"
        for index in 0..<pods {
            text += "  - {name: p\(index), namespace: \(index % 2 == 0 ? "x" : "default"), node: node-\(index % 2 + 1), labels: {app: a\(index % 3)}}\n"
        }
        return policies.isEmpty ? text : text + "networkPolicies:\n" + policies
    }

    static let one = "  - {name: p, namespace: x, podSelector: {matchLabels: {app: a0}}, ingress: [{from: [{podSelector: {matchLabels: {app: a1}}}]}]}\n"
    static let two = one + "  - {name: q, namespace: default, podSelector: {}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]}]}\n"

    static func topology(_ text: String, previous: Topology? = nil) throws -> Topology {
        try TopologyBuilder.build(LabFileLoader.parse(text, file: "tf.yaml").lab, previous: previous)
    }

    @Test(arguments: [(one, two), (two, one), (one, one.replacingOccurrences(of: "app: a1", with: "app: a2")), (two, two)])
    func theNewPoliciesTakeTheOldOnesPlace(_ before: String, _ after: String) throws {
        let old = try Self.topology(Self.text(before))
        let new = try Self.topology(Self.text(after), previous: old)
        let encoder = LabState.topologyEncoder()
        let spliced = try #require(LabState.topologyJSON(new, changingPoliciesOf: old, in: try encoder.encode(old)))
        #expect(spliced == (try encoder.encode(new)))
        #expect(try JSONDecoder().decode(Topology.self, from: spliced) == new)
    }

    @Test func anythingElseChangedOrNoPoliciesIsEncodedWhole() throws {
        let old = try Self.topology(Self.text(Self.one))
        let encoded = try LabState.topologyEncoder().encode(old)
        let morePods = try Self.topology(Self.text(Self.two, pods: 13), previous: old)
        #expect(LabState.topologyJSON(morePods, changingPoliciesOf: old, in: encoded) == nil)
        let none = try Self.topology(Self.text(""), previous: old)
        #expect(LabState.topologyJSON(none, changingPoliciesOf: old, in: encoded) == nil)
        #expect(LabState.topologyJSON(old, changingPoliciesOf: none, in: try LabState.topologyEncoder().encode(none)) == nil)
    }
}
