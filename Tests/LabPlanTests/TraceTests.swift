import LabAddress
import LabSpec
import Testing
@testable import LabPlan

@Suite struct TraceFlowTests {
    static func demo() throws -> Topology { try TraceGoldenTests.topology("demo", proxy: nil, network: nil) }

    @Test func defaultsToICMPWithoutAPortAndTCPWithOne() throws {
        let topology = try Self.demo()
        #expect(try TraceFlow.resolve(TraceRequest(from: "pod-a", to: "pod-b"), in: topology).protocol == .icmp)
        #expect(try TraceFlow.resolve(TraceRequest(from: "pod-a", to: "pod-b", port: 8080), in: topology).protocol == .tcp)
    }

    @Test func aServiceWithOnePortNeedsNoPort() throws {
        let flow = try TraceFlow.resolve(TraceRequest(from: "pod-a", to: "service/web"), in: try Self.demo())
        #expect(flow.protocol == .tcp && flow.port == 80 && flow.destination == IPv4Address("10.96.0.20"))
    }

    @Test func unknownNamesSayWhatIsCloseInOneLine() throws {
        let topology = try Self.demo()
        let error = #expect(throws: TraceError.self) { try TraceFlow.resolve(TraceRequest(from: "pod-x", to: "pod-b"), in: topology) }
        #expect(error?.kind == .unknown)
        #expect(error?.message.contains("did you mean \"pod-a\"") == true)
        #expect(error?.message.contains("\n") == false)
        let service = #expect(throws: TraceError.self) { try TraceFlow.resolve(TraceRequest(from: "pod-a", to: "service/wbe", port: 80), in: topology) }
        #expect(service?.message.contains("did you mean \"service/web\"") == true)
    }

    @Test func aPortOnAnICMPTraceIsBadUsage() throws {
        let error = #expect(throws: TraceError.self) {
            try TraceFlow.resolve(TraceRequest(from: "pod-a", to: "pod-b", port: 80, protocol: .icmp), in: try Self.demo())
        }
        #expect(error?.kind == .usage)
    }

    @Test func aServicePortThatDoesNotExistIsNamedWithThePortsThereAre() throws {
        let error = #expect(throws: TraceError.self) {
            try TraceFlow.resolve(TraceRequest(from: "pod-a", to: "service/web", port: 81), in: try Self.demo())
        }
        #expect(error?.message == "service/web has no tcp port 81 (it has tcp 80 (NodePort 30080))")
    }

    @Test func aNodePortTraceGoesToTheFirstNodesAddress() throws {
        let flow = try TraceFlow.resolve(TraceRequest(from: "laptop", to: "service/web", port: 30080, nodePort: true), in: try Self.demo())
        #expect(flow.destination == IPv4Address("192.168.1.10"))
        #expect(flow.port == 30080)
    }
}

@Suite struct ExpectedPathTests {
    @Test func aServiceForksOncePerEndpointWithKubeProxysProbabilities() throws {
        let topology = try TraceFlowTests.demo()
        let expected = ExpectedPath.walk(try TraceFlow.resolve(TraceRequest(from: "pod-a", to: "service/web", port: 80), in: topology), in: topology)
        #expect(expected.paths.map(\.endpoint) == ["pod-b", "web-2", "multi-container-pod"])
        #expect(expected.paths.allSatisfy { $0.probability == "1/3" })
        let picks = expected.paths.map { path in path.forward.first { $0.chain?.hasPrefix("KUBE-SVC-") == true }?.rule ?? "" }
        #expect(picks[0].contains("--probability 0.33333333349 -j KUBE-SEP-"))
        #expect(picks[1].contains("--probability 0.50000000000 -j KUBE-SEP-"))
        #expect(!picks[2].contains("--probability"))
        #expect(expected.paths.allSatisfy { $0.outcome.isDelivered })
        #expect(expected.natNamespaces == ["lab.demo.node.node-1"])
    }

    @Test func theReplyIsUnNATedWhereTheRequestWasTranslated() throws {
        let topology = try TraceFlowTests.demo()
        let expected = ExpectedPath.walk(try TraceFlow.resolve(TraceRequest(from: "pod-a", to: "service/web", port: 80), in: topology), in: topology)
        let reply = expected.paths[1].reply
        #expect(reply.contains { $0.object == "node-1" && $0.nat == "un-DNAT (conntrack): src 10.244.2.2:8080 → 10.96.0.20:80" })
    }

    @Test func aServiceWithoutEndpointsIsRejectedAtTheFirstNode() throws {
        let topology = try TopologyBuilder.build(Fixtures.threeNetworks())
        let expected = ExpectedPath.walk(try TraceFlow.resolve(TraceRequest(from: "a", to: "service/fixed", port: 53), in: topology), in: topology)
        #expect(expected.paths.count == 1)
        let reject = try #require(expected.paths[0].forward.last)
        #expect(reject.table == "filter" && reject.chain == "KUBE-SERVICES")
        #expect(reject.rule?.hasSuffix("-j REJECT") == true)
        #expect(expected.paths[0].outcome == .dropped(object: "node-1", reason: "service fixed port 53 has no endpoints: rejected"))
    }

    @Test func aHostCannotReachAClusterIPThroughTheFabric() throws {
        let topology = try TraceFlowTests.demo()
        let expected = ExpectedPath.walk(try TraceFlow.resolve(TraceRequest(from: "laptop", to: "10.96.0.20", port: 80), in: topology), in: topology)
        #expect(expected.paths.count == 1)
        #expect(expected.paths[0].outcome == .dropped(object: "fabric", reason: "no route to 10.96.0.20 in the fabric"))
    }
}

@Suite struct SavedRuleTextTests {
    /// Lines `iptables-save` 1.8.9 (nf_tables) printed for the demo lab's node-1.
    @Test(arguments: [
        ("-A KUBE-SERVICES -m comment --comment \"default/web:http cluster IP\" -m tcp -p tcp -d 10.96.0.20 --dport 80 -j KUBE-SVC-CDGGSHYLG3RE2FKL",
         "-A KUBE-SERVICES -d 10.96.0.20/32 -p tcp -m comment --comment \"default/web:http cluster IP\" -m tcp --dport 80 -j KUBE-SVC-CDGGSHYLG3RE2FKL"),
        ("-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment \"default/web:http cluster IP\" -m tcp -p tcp -d 10.96.0.20 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ",
         "-A KUBE-SVC-CDGGSHYLG3RE2FKL ! -s 10.244.0.0/16 -d 10.96.0.20/32 -p tcp -m comment --comment \"default/web:http cluster IP\" -m tcp --dport 80 -j KUBE-MARK-MASQ"),
        ("-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment \"default/web:http -> 10.244.1.3:8080\" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-2AZ33KU3V5PGPQZH",
         "-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment \"default/web:http -> 10.244.1.3:8080\" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-2AZ33KU3V5PGPQZH"),
        ("-A KUBE-SEP-2AZ33KU3V5PGPQZH -m comment --comment default/web:http -s 10.244.1.3 -j KUBE-MARK-MASQ",
         "-A KUBE-SEP-2AZ33KU3V5PGPQZH -s 10.244.1.3/32 -m comment --comment \"default/web:http\" -j KUBE-MARK-MASQ"),
        ("-A KUBE-SEP-2AZ33KU3V5PGPQZH -m comment --comment default/web:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:8080",
         "-A KUBE-SEP-2AZ33KU3V5PGPQZH -p tcp -m comment --comment \"default/web:http\" -m tcp -j DNAT --to-destination 10.244.1.3:8080"),
        ("-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS",
         "-A KUBE-SERVICES ! -d 127.0.0.0/8 -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS"),
        ("-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000", "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000"),
        ("-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000", "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0"),
        ("-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN", "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN"),
        ("-A KUBE-NODEPORTS -m comment --comment default/web:http -m tcp -p tcp --dport 30080 -j KUBE-EXT-CDGGSHYLG3RE2FKL",
         "-A KUBE-NODEPORTS -p tcp -m comment --comment \"default/web:http\" -m tcp --dport 30080 -j KUBE-EXT-CDGGSHYLG3RE2FKL"),
    ])
    func restoreLinesAreQuotedAsIPTablesSavePrintsThem(_ restore: String, _ saved: String) {
        #expect(SavedRuleText.iptablesSave(restore) == saved)
    }

    @Test func probabilitiesAreTheStoredThirtyOneBitFraction() {
        #expect(SavedRuleText.probabilityAsSaved("0.3333333333") == "0.33333333349")
        #expect(SavedRuleText.probabilityAsSaved("0.5000000000") == "0.50000000000")
        #expect(SavedRuleText.probabilityAsSaved("0.2500000000") == "0.25000000000")
    }

    @Test func nftVerdictMapsAreListedWithCommaSpace() {
        #expect(SavedRuleText.nftList("numgen random mod 2 vmap { 0 : goto a , 1 : goto b }") == "numgen random mod 2 vmap { 0 : goto a, 1 : goto b }")
    }

    /// kube-proxy's masquerade rules as loaded, and the lines `nft list ruleset` (nftables
    /// 1.0.6) printed for them in a node of a running nftables lab.
    @Test(arguments: [
        ("mark set mark or 0x4000", "meta mark set meta mark | 0x00004000"),
        ("mark and 0x4000 == 0 return", "meta mark & 0x00004000 == 0x00000000 return"),
        ("mark set mark xor 0x4000", "meta mark set meta mark ^ 0x00004000"),
        ("masquerade fully-random", "masquerade fully-random"),
        ("meta mark set meta mark or 0x00010000 return", "meta mark set meta mark | 0x00010000 return"),
        ("meta l4proto tcp dnat to 10.244.1.3:8080", "meta l4proto tcp dnat to 10.244.1.3:8080"),
        ("ip daddr { 10.96.0.0/16 } drop", "ip daddr 10.96.0.0/16 drop"),
        ("numgen random mod 1 vmap { 0 : goto a }", "numgen random mod 1 vmap { 0 : goto a }"),
    ])
    func nftMarksAreListedInTheirLongForm(_ body: String, _ listed: String) {
        #expect(SavedRuleText.nftList(body) == listed)
    }

    /// The nftables NodePort trace from the laptop quotes the masquerade rules as nft lists them.
    @Test func theNodePortTraceQuotesTheMasqueradeRulesAsNFTListsThem() throws {
        let topology = try TraceGoldenTests.topology("demo", proxy: .nftables, network: nil)
        let flow = try TraceFlow.resolve(TraceRequest(from: "laptop", to: "service/web", port: 30080, nodePort: true), in: topology)
        let hops = ExpectedPath.walk(flow, in: topology).paths[0].forward
        let rules = hops.filter { ["masquerading", "mark-for-masquerade"].contains($0.chain) || $0.rule?.contains("mark") == true }.compactMap(\.rule)
        #expect(rules.contains("meta mark set meta mark ^ 0x00004000"), "\(rules)")
        #expect(!rules.contains { $0.hasPrefix("mark ") || $0.contains(" xor ") }, "\(rules)")
    }
}

@Suite struct TraceListingsTests {
    @Test func nftHandlesAreReadInChainOrder() {
        let listing = """
        table ip nat { # handle 2
        \tchain KUBE-SVC-X { # handle 6
        \t\tmeta l4proto tcp ip daddr 10.96.0.20 tcp dport 80 counter packets 0 bytes 0 jump KUBE-MARK-MASQ # handle 16
        \t\t meta random & 2147483647 < 715827883 counter packets 1 bytes 60 jump KUBE-SEP-A # handle 19
        \t}
        }
        table inet lab_trace { # handle 9
        \tchain mark-prerouting { # handle 1
        \t\ttype filter hook prerouting priority raw - 1; policy accept;
        \t\ttcp sport 41234 meta nftrace set 1 # handle 4
        \t}
        }
        """
        let rules = TraceListings.nftRules(listing)
        #expect(rules.map(\.handle) == [16, 19, 4])
        #expect(rules.map(\.index) == [0, 1, 0])
        #expect(rules[1].table == "nat" && rules[1].chain == "KUBE-SVC-X" && rules[1].family == "ip")
        #expect(rules[2].text == "tcp sport 41234 meta nftrace set 1")
    }
}

@Suite struct TraceComparisonTests {
    static func podToPod() throws -> ExpectedTrace {
        let topology = try TraceFlowTests.demo()
        return ExpectedPath.walk(try TraceFlow.resolve(TraceRequest(from: "pod-a", to: "web-2"), in: topology), in: topology)
    }

    static func hop(_ netns: String, _ object: String, _ decision: String, out: String? = nil) -> TraceHop {
        TraceHop(netns: "lab.demo.\(netns)", object: object, out: out, decision: decision)
    }

    @Test func theSamePathIsDeliveredWithoutDivergence() throws {
        let observed = ObservedTrace(forward: [
            Self.hop("pod.pod-a", "pod-a", "output → postrouting"),
            Self.hop("node.node-1", "node-1", "prerouting → forward → postrouting"),
            Self.hop("fabric", "fabric", "bridge prerouting → bridge forward (switched)"),
            Self.hop("node.node-2", "node-2", "prerouting → forward → postrouting"),
            Self.hop("pod.web-2", "web-2", "prerouting → input"),
        ], reply: [], conntrack: [], answer: "echo reply", tuple: "", notes: [])
        let verdict = TraceComparison.verdict(expected: try Self.podToPod(), observed: observed)
        #expect(verdict.delivered)
        #expect(verdict.reached == "web-2")
        #expect(verdict.divergence?.direction != "request")
    }

    @Test func aPacketLostAfterTheFabricIsMarkedAtTheNextExpectedHop() throws {
        let observed = ObservedTrace(forward: [
            Self.hop("pod.pod-a", "pod-a", "output → postrouting"),
            Self.hop("node.node-1", "node-1", "prerouting → forward → postrouting", out: "eth0"),
            Self.hop("fabric", "fabric", "bridge prerouting → prerouting"),
        ], reply: [], conntrack: [], answer: "nothing", tuple: "", notes: [])
        let expected = try Self.podToPod()
        let verdict = TraceComparison.verdict(expected: expected, observed: observed)
        #expect(!verdict.delivered)
        #expect(verdict.stoppedAt == "fabric")
        #expect(verdict.reason?.contains("no route") == true)
        let index = try #require(verdict.divergence?.expectedIndex)
        #expect(expected.paths[0].forward[index].object == "node-2")
    }

    @Test func aDropRuleIsTheDivergenceAndTheReason() throws {
        var drop = Self.hop("node.node-2", "node-2", "verdict drop")
        drop.table = "filter"
        drop.chain = "FORWARD"
        drop.rule = "-A FORWARD -d 10.244.2.2/32 -j DROP"
        drop.verdict = "drop"
        let observed = ObservedTrace(forward: [Self.hop("pod.pod-a", "pod-a", "output → postrouting"), drop],
                                     reply: [], conntrack: [], answer: "nothing", tuple: "", notes: [])
        let verdict = TraceComparison.verdict(expected: try Self.podToPod(), observed: observed)
        #expect(!verdict.delivered)
        #expect(verdict.reason == "drop by filter FORWARD: -A FORWARD -d 10.244.2.2/32 -j DROP")
        #expect(verdict.divergence?.observedIndex == 1)
    }
}

@Suite struct TraceNodeSourceTests {
    /// In vxlan mode the route from a node to another node's podCIDR goes out of flannel.1,
    /// whose address (the podCIDR's `.0`) the kernel picks as the source; the answer comes back
    /// through the overlay to that address.
    @Test func aNodesPacketToAPodBehindAnotherNodeLeavesWithFlannelsAddress() throws {
        let topology = try TraceGoldenTests.topology("netpol", proxy: nil, network: .vxlan)
        let node2 = try #require(topology.node(named: "node-2"))
        let node1 = try #require(topology.node(named: "node-1"))
        let web = try #require(topology.pod(named: "web"))
        let flow = try TraceFlow.resolve(TraceRequest(from: "node/node-1", to: "web", port: 8080), in: topology)
        #expect(flow.source.ip == node1.podCIDR.address)
        let path = ExpectedPath.walk(flow, in: topology).paths[0]
        #expect(path.outcome == .delivered(object: "web", address: "\(web.ip):8080"))
        #expect(path.forward.first?.out == "flannel.1")
        #expect(path.reply.contains { $0.netns == node2.netns && $0.encap?.hasPrefix("vxlan \(node2.ip) → \(node1.ip)") == true },
                "the answer goes back encapsulated: \(path.reply.map(\.decision))")
        #expect(path.reply.last?.decision == "local \(node1.podCIDR.address) table local: delivered to node node-1")

        // Toward its own pods, a service address or the underlay, the node's IP as before.
        for to in ["db", "node/node-2", "service/db"] {
            let other = try TraceFlow.resolve(TraceRequest(from: "node/node-1", to: to, port: 5432), in: topology)
            #expect(other.source.ip == node1.ip, "\(to)")
        }
        // Routed mode: the podCIDR is routed via eth0.
        let routed = try TraceGoldenTests.topology("netpol", proxy: nil, network: .routed)
        #expect(try TraceFlow.resolve(TraceRequest(from: "node/node-1", to: "web", port: 8080), in: routed).source.ip == node1.ip)
    }

    /// A node's masqueraded packet leaving by flannel.1 takes flannel.1's address.
    @Test func masqueradeOutOfFlannelTakesItsAddress() throws {
        let topology = try TraceGoldenTests.topology("demo", proxy: nil, network: .vxlan)
        let node1 = try #require(topology.node(named: "node-1"))
        let flow = try TraceFlow.resolve(TraceRequest(from: "node/node-1", to: "service/web", port: 80), in: topology)
        let expected = ExpectedPath.walk(flow, in: topology)
        let overlay = try #require(expected.paths.first { $0.forward.contains { $0.out == "flannel.1" && $0.nat?.hasPrefix("SNAT") == true } })
        let snat = overlay.forward.compactMap(\.nat).first { $0.hasPrefix("SNAT") }
        #expect(snat == "SNAT src \(node1.ip):40000 → \(node1.podCIDR.address):*")
    }
}

@Suite struct TraceRulesetTests {
    /// A masqueraded probe inside VXLAN keeps its DSCP (bits 248–253 after the outer UDP header)
    /// but not its port; its reply is selected by its inner addresses.
    @Test func encapsulatedProbesAreSelectedByDSCPAndTheirRepliesByAddress() {
        let script = TraceRuleset.install(protocol: .tcp, port: 40001, source: "192.168.1.10", bridge: true,
                                          extraMatches: ["ip saddr 10.244.1.3 ip daddr 10.244.2.0 tcp sport 5432"])
        #expect(script.contains("udp dport 8472 @th,248,6 \(TraceRuleset.dscp(port: 40001)) limit rate 200/second meta nftrace set 1"))
        #expect(script.contains("udp dport 8472 @th,336,32 0xaf40103 @th,368,32 0xaf40200 limit rate 200/second meta nftrace set 1"))
        #expect(TraceRuleset.encapsulated("icmp id 4") == nil)
    }

    /// A REJECT of a masqueraded packet answers with an ICMP error quoting the masqueraded port:
    /// the trace selects it by its addresses.
    @Test func theRejectOfAMasqueradedPacketIsSelectedByItsAddresses() throws {
        let topology = try TraceGoldenTests.topology("netpol", proxy: nil, network: .vxlan)
        let flow = try TraceFlow.resolve(TraceRequest(from: "node/node-2", to: "service/db", port: 5432), in: topology)
        let expected = ExpectedPath.walk(flow, in: topology)
        #expect(expected.replyMatches == ["ip saddr 10.244.1.0 ip daddr 10.244.2.0 icmp type destination-unreachable"])
    }
}
