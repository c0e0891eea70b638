import Testing
import LabSpec
@testable import LabPlan

/// What the evaluator decides where the spec leaves a choice to the enforcer, and the reasons
/// it gives: lab follows kube-router.
@Suite struct PolicyEvaluatorTests {
    static let denyAll = "  - {name: deny-all, namespace: x, podSelector: {}, policyTypes: [Ingress, Egress]}\n"

    @Test func aPodReachesItselfAndItsOwnNodeReachesItUnderDenyAll() throws {
        let evaluator = try PolicyModel.evaluator(policies: Self.denyAll)
        let pod = try #require(evaluator.topology.pod(named: "x-a"))
        let node = try #require(evaluator.topology.node(named: pod.node))
        let other = try #require(evaluator.topology.nodes.first { $0.name != pod.node })
        #expect(evaluator.verdict(from: .pod("x-a"), to: .pod("x-a"), protocol: .tcp, port: 80).allowed)
        #expect(evaluator.verdict(from: .address(node.bridgeAddress), to: .pod("x-a"), protocol: .tcp, port: 80).allowed)
        #expect(evaluator.verdict(from: .address(node.ip), to: .pod("x-a"), protocol: .tcp, port: 80).allowed)
        #expect(!evaluator.verdict(from: .address(other.ip), to: .pod("x-a"), protocol: .tcp, port: 80).allowed)
        // A pod's address stands for the pod.
        #expect(!evaluator.verdict(from: .address(try #require(evaluator.topology.pod(named: "y-a")).ip), to: .pod("x-a"),
                                   protocol: .tcp, port: 80).allowed)
    }

    @Test func reasonsNameThePolicyAndRule() throws {
        let evaluator = try PolicyModel.evaluator(policies: Self.denyAll + """
          - {name: from-y, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{}, {from: [{namespaceSelector: {}}]}]}
        """)
        #expect(evaluator.verdict(from: .pod("x-b"), to: .pod("y-a"), protocol: .tcp, port: 80).reasons == [
            "egress from x/x-b: isolated by x/deny-all; no rule allows y-a on 80/TCP",
            "ingress to y/y-a: not isolated",
        ])
        #expect(evaluator.verdict(from: .pod("y-a"), to: .pod("x-a"), protocol: .udp, port: 53) ==
                PolicyEvaluator.Verdict(allowed: true, reasons: [
                    "egress from y/y-a: not isolated",
                    "ingress to x/x-a: allowed by x/from-y ingress[0]",
                ]))
    }

    @Test func isolationIsPerDirectionAndPerSelectingPolicy() throws {
        let evaluator = try PolicyModel.evaluator(policies: """
          - {name: in-a, namespace: x, podSelector: {matchLabels: {pod: a}}}
          - {name: out-all, namespace: x, podSelector: {}, policyTypes: [Egress]}
        """)
        let a = try #require(evaluator.topology.pod(named: "x-a")), b = try #require(evaluator.topology.pod(named: "x-b"))
        #expect(evaluator.isolating(a, .ingress).map(\.name) == ["in-a"])
        #expect(evaluator.isolating(b, .ingress).isEmpty)
        #expect(evaluator.isolating(a, .egress).map(\.name) == ["out-all"])
        #expect(evaluator.isolating(try #require(evaluator.topology.pod(named: "y-a")), .egress).isEmpty)
    }
}
