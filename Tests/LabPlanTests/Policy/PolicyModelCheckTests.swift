import Testing
import LabSpec
@testable import LabPlan

/// `lab verify` of a lab with policies and no probes: the model check's own probes expect what
/// the policies allow, and a truth table per served port is added.
@Suite struct PolicyModelCheckTests {
    static let denyX = "  - {name: deny-x, namespace: x, podSelector: {}, policyTypes: [Ingress]}\n"

    @Test func everyServedPortGetsAGridThatExpectsThePoliciesVerdicts() throws {
        let evaluator = try PolicyModel.evaluator(policies: Self.denyX)
        let probes = ModelCheck.probes(evaluator.topology)
        let groups = Set(probes.compactMap(\.group))
        // The DNS pod serves its metrics port: a grid of its own, and a source in every grid.
        #expect(groups == [ModelCheck.reachGroup, "model: policy 80/TCP", "model: policy 80/UDP", "model: policy 81/TCP", "model: policy 81/UDP",
                           "model: policy 9153/TCP"])
        let grid = probes.filter { $0.group == "model: policy 80/TCP" }
        #expect(grid.count == 81, "10 sources (9 pods and the DNS pod) to 9 targets, no pod to itself")
        #expect(grid.first { $0.from == "y/y-a" && $0.to == "x/x-b" }?.expect.reach == false)
        #expect(grid.first { $0.from == "x/x-a" && $0.to == "y/y-b" }?.expect.reach == true)
        #expect(grid.allSatisfy { $0.kind == .tcp(port: 80) })
        // Pings stay allowed: ICMP echo passes every policy.
        #expect(probes.filter { $0.group == ModelCheck.reachGroup }.allSatisfy { $0.expect.reach })
    }

    @Test func withoutPoliciesTheModelCheckIsWhatItWas() throws {
        let topology = try TopologyBuilder.build(Fixtures.threeNetworks())
        #expect(!ModelCheck.probes(topology).contains { $0.group?.hasPrefix("model: policy") ?? false })
    }
}
