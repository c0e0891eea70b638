import Testing
import LabSpec
@testable import LabPlan

/// The rendered layout, pure: what a node gets, and what it does not.
@Suite struct PolicyRulesTests {
    @Test func onlyNodesWithASelectedPodGetChainsAndTheJumpComesFirst() throws {
        let evaluator = try PolicyModel.evaluator(policies: """
          - {name: p, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.244.2.0/24]}}], ports: [{port: serve-80-tcp}, {port: 81, endPort: 82, protocol: UDP}]}]}
        """)
        let topology = evaluator.topology
        let podA = try #require(topology.pod(named: "x-a"))
        let nodeOfA = try #require(topology.node(named: podA.node))
        let other = try #require(topology.nodes.first { $0.name != nodeOfA.name })
        let options = IPTablesRules.Options(hooksInBuffer: true)
        let withPolicy = IPTablesRules.renderWithPolicies(topology: topology, node: nodeOfA, options: options)
        let without = IPTablesRules.renderWithPolicies(topology: topology, node: other, options: options)
        #expect(without.sets == nil && !without.rules.contains("KUBE-ROUTER"))
        let sets = try #require(withPolicy.sets)
        #expect(sets.contains("add KUBE-SRC-") && sets.contains(" 0.0.0.0/1\n") && sets.contains(" 128.0.0.0/1\n"))
        #expect(sets.contains(" 10.244.2.0/24 nomatch\n"))
        let forward = withPolicy.rules.split(separator: "\n").filter { $0.hasPrefix("-A FORWARD ") }
        #expect(forward.first == "-A FORWARD -m comment --comment \"kube-router netpol\" -j KUBE-ROUTER-FORWARD")
        #expect(withPolicy.rules.contains("-p udp -m comment"))
        #expect(withPolicy.rules.contains("-m udp --dport 81:82 -j MARK --set-xmark 0x10000/0x10000"))
        #expect(withPolicy.rules.contains("-m tcp --dport 80 -m mark --mark 0x10000/0x10000 -j RETURN"))
        // The same lab renders the same bytes.
        #expect(IPTablesRules.renderWithPolicies(topology: topology, node: nodeOfA, options: options).rules == withPolicy.rules)
    }

    @Test func aLabWithoutPoliciesRendersWhatItAlwaysDid() throws {
        let topology = try TopologyBuilder.build(Fixtures.threeNetworks())
        #expect(topology.policy == nil)
        for node in topology.nodes {
            let rendered = IPTablesRules.renderWithPolicies(topology: topology, node: node)
            #expect(rendered.sets == nil && rendered.rules == IPTablesRules.render(topology: topology, node: node))
        }
    }
}
