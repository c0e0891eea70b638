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

/// The nftables projection of the same layout, and how a change of it is loaded.
@Suite struct PolicyNFTablesTests {
    @Test func kubeRoutersTableSitsBesideKubeProxysInOneInput() throws {
        let base = try PolicyModel.evaluator(policies: """
          - {name: p, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.244.2.0/24]}}], ports: [{port: 80, endPort: 81}]}]}
        """)
        let topology = base.topology
        let podA = try #require(topology.pod(named: "x-a"))
        let node = try #require(topology.node(named: podA.node))
        let text = try #require(NetworkPolicyNFTables.render(topology: topology, node: node))
        #expect(text.hasPrefix("add table ip kube-router-filter-ipv4\n"))
        #expect(text.contains("add chain ip kube-router-filter-ipv4 KUBE-ROUTER-FORWARD { type filter hook forward priority 0 ; }"))
        #expect(text.contains("flags interval"))
        #expect(text.contains("ip saddr != @KUBE-SRC-"), "an except is a second set the source must not be in")
        #expect(text.contains("tcp dport 80-81 meta mark set meta mark or 0x00010000 return"))
        #expect(text.contains("meta mark and 0x00010000 == 0x00000000 reject"))
        // The plan loads both tables in one nft -f per node.
        var nft = topology
        nft.proxy = .nftables
        let loads = Planner.serviceRules(nft).compactMap { operation -> String? in
            if case .loadFirewall(let namespace, .nft, let rules) = operation, namespace == node.netns { return rules }
            return nil
        }
        #expect(loads.count == 1)
        #expect(loads.first?.contains("add table ip kube-proxy") ?? false)
        #expect(loads.first?.contains("add table ip kube-router-filter-ipv4") ?? false)
    }

    @Test func eachTableOfAnInputIsDiffedOnItsOwn() {
        let proxy = "add table ip kube-proxy\nadd chain ip kube-proxy services\nadd rule ip kube-proxy services ip daddr 10.96.0.1 accept\n"
        let policyA = "add table ip kube-router-filter-ipv4\nadd set ip kube-router-filter-ipv4 S { type ipv4_addr ; }\nadd element ip kube-router-filter-ipv4 S { 10.244.1.2 }\n"
        let policyB = policyA.replacingOccurrences(of: "10.244.1.2", with: "10.244.1.3")
        #expect(NFTablesDiff.change(from: proxy + policyA, to: proxy + policyB)
                == "flush set ip kube-router-filter-ipv4 S\nadd element ip kube-router-filter-ipv4 S { 10.244.1.3 }\n")
        #expect(NFTablesDiff.change(from: proxy + policyA, to: proxy) == "delete table ip kube-router-filter-ipv4\n")
        #expect(NFTablesDiff.change(from: proxy, to: proxy + policyA) == policyA)
    }
}

/// A policy with both types: each direction is decided by that direction's rules alone. With
/// one chain per policy entered for both directions, the egress rule below (source a pod of
/// `y`, destination in 10.244.0.0/16) also matched a packet from one pod of `y` to another
/// and marked it allowed, though the ingress rules admit only `z`.
@Suite struct PolicyDirectionTests {
    static let policy = """
      - {name: q, namespace: y, podSelector: {}, policyTypes: [Ingress, Egress], ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: z}}}]}], egress: [{to: [{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.1.0/24]}}]}]}
    """

    @Test func theSpecBlocksYToY() throws {
        let evaluator = try PolicyModel.evaluator(policies: Self.policy)
        let observed = PolicyModel.observed(evaluator)
        for from in ["y/a", "y/b", "y/c"] {
            for to in ["y/a", "y/b", "y/c"] where from != to {
                #expect(observed.cells["\(from)>\(to)"] == false, "\(from) -> \(to): only z may reach y")
            }
        }
    }

    /// In every node's rules: a chain with ingress rules is entered only for packets to the pod
    /// (`-d`), a chain with egress rules only for packets from it (`-s`), and the pod chain of
    /// each pod of `y` enters one of each.
    @Test func iptablesEntersEachDirectionsChainOnlyInThatDirection() throws {
        let topology = try PolicyModel.evaluator(policies: Self.policy).topology
        for name in ["y-a", "y-b", "y-c"] {
            let pod = try #require(topology.pod(named: name))
            let node = try #require(topology.node(named: pod.node))
            let lines = IPTablesRules.renderWithPolicies(topology: topology, node: node).rules.split(separator: "\n").map(String.init)
            let podChain = NetworkPolicyIPTables.podChain(pod), ip = "\(pod.ip)/32"
            let jumps = lines.filter { $0.hasPrefix("-A \(podChain) ") && $0.contains(" -j KUBE-NWPLCY-")
                && !$0.hasSuffix("-j KUBE-NWPLCY-DEFAULT") && !$0.hasSuffix("-j KUBE-NWPLCY-COMMON") }
            #expect(jumps.count == 2, "\(name): one jump per direction: \(jumps)")
            var directions: [String] = []
            for jump in jumps {
                let target = try #require(jump.split(separator: " ").last.map(String.init))
                let rules = lines.filter { $0.hasPrefix("-A \(target) ") }
                let ingress = rules.filter { $0.contains("to dest pods selected by policy name q") }
                let egress = rules.filter { $0.contains("selected by policy name q namespace y to dest pods") }
                #expect(!rules.isEmpty && (ingress.isEmpty != egress.isEmpty), "\(target) holds one direction's rules: \(rules)")
                if !ingress.isEmpty {
                    #expect(jump.contains("-d \(ip) ") && !jump.contains("-s "), "\(name): ingress rules entered only for packets to it: \(jump)")
                    directions.append("ingress")
                } else {
                    #expect(jump.contains("-s \(ip) ") && !jump.contains("-d "), "\(name): egress rules entered only for packets from it: \(jump)")
                    directions.append("egress")
                }
            }
            #expect(directions.sorted() == ["egress", "ingress"])
        }
    }

    @Test func nftablesEntersEachDirectionsChainOnlyInThatDirection() throws {
        let topology = try PolicyModel.evaluator(policies: Self.policy).topology
        for name in ["y-a", "y-b", "y-c"] {
            let pod = try #require(topology.pod(named: name))
            let node = try #require(topology.node(named: pod.node))
            let lines = try #require(NetworkPolicyNFTables.render(topology: topology, node: node)).split(separator: "\n").map(String.init)
            let prefix = "add rule ip \(NetworkPolicyNFTables.table) "
            let podChain = NetworkPolicyIPTables.podChain(pod)
            let jumps = lines.filter { $0.hasPrefix(prefix + podChain + " ") && $0.contains("jump KUBE-NWPLCY-")
                && !$0.contains("jump KUBE-NWPLCY-DEFAULT") && !$0.contains("jump KUBE-NWPLCY-COMMON") }
            #expect(jumps.count == 2, "\(name): one jump per direction: \(jumps)")
            for jump in jumps {
                let target = try #require(jump.components(separatedBy: "jump ").last?.split(separator: " ").first.map(String.init))
                let rules = lines.filter { $0.hasPrefix(prefix + target + " ") }
                if rules.contains(where: { $0.contains("\"ingress allowed by y/q\"") }) {
                    #expect(!rules.contains { $0.contains("egress allowed") })
                    #expect(jump.contains(" ip daddr \(pod.ip) jump ") && !jump.contains("saddr"), "\(name): \(jump)")
                } else {
                    #expect(rules.contains { $0.contains("\"egress allowed by y/q\"") } && !rules.contains { $0.contains("ingress allowed") })
                    #expect(jump.contains(" ip saddr \(pod.ip) jump ") && !jump.contains("daddr"), "\(name): \(jump)")
                }
            }
        }
    }
}
