import Foundation
import LabAddress
import LabSpec
import Testing
@testable import LabPlan

/// `link:` impairments as topology and kernel operations: a root qdisc on each end of each
/// impaired veth, loss as netfilter's random drop in the namespace of the inner end.
@Suite struct ImpairmentPlanTests {
    static let slow = LinkImpairment(rateBitsPerSecond: 10_000_000)
    static let lossy = LinkImpairment(loss: 0.1)
    static let delayed = LinkImpairment(delayMicroseconds: 20_000, jitterMicroseconds: 5_000, rateBitsPerSecond: 1_000_000)

    static func file(pod a: LinkImpairment? = nil, pod b: LinkImpairment? = nil, host: LinkImpairment? = nil,
                     network: LinkImpairment? = nil) -> LabFile {
        var file = Fixtures.threeNetworks(name: "imp")
        file.pods[0].link = a
        file.pods[1].link = b
        file.hosts[0].link = host
        file.networks[0].link = network
        return file
    }

    static func topology(_ file: LabFile) throws -> Topology { try TopologyBuilder.build(file) }

    /// The `iptables-restore` text of a namespace's impairment chains holding `rules`.
    static func mangle(_ rules: String...) -> String {
        (["*mangle", ":LAB-IMPAIR-INGRESS - [0:0]", ":LAB-IMPAIR-EGRESS - [0:0]", "-A PREROUTING -j LAB-IMPAIR-INGRESS",
          "-A POSTROUTING -j LAB-IMPAIR-EGRESS"] + rules + ["COMMIT"]).joined(separator: "\n") + "\n"
    }

    static func raw(_ rules: String...) -> String {
        (["*raw", ":LAB-DELAY-PREROUTING - [0:0]", ":LAB-DELAY-OUTPUT - [0:0]", "-A PREROUTING -j LAB-DELAY-PREROUTING",
          "-A OUTPUT -j LAB-DELAY-OUTPUT"] + rules + ["COMMIT"]).joined(separator: "\n") + "\n"
    }

    @Test func noImpairmentLeavesTheTopologyAsItWas() throws {
        let topology = try Self.topology(Self.file())
        #expect(topology.impairments == nil)
        let json = String(decoding: try JSONEncoder().encode(topology), as: UTF8.self)
        #expect(!json.contains("impairments"))
    }

    @Test func aPodsRateShapesBothEndsOfItsVeth() throws {
        let topology = try Self.topology(Self.file(pod: Self.slow))
        let pod = try #require(topology.pod(named: "a"))
        let ops = Planner.plan(topology).operations
        let bucket = TokenBucket(rateBitsPerSecond: 10_000_000, mtu: topology.podMTU)
        #expect(bucket.burstBytes == 12_500)
        #expect(bucket.limitBytes == 75_000)
        let qdiscs = ops.filter { if case .replaceQdisc = $0 { true } else { false } }
        #expect(qdiscs == [
            .replaceQdisc(netns: pod.netns, link: "eth0", qdisc: .tokenBucket(bucket)),
            .replaceQdisc(netns: pod.veth.netns, link: pod.veth.name, qdisc: .tokenBucket(bucket)),
        ])
        // A rate alone needs no firewall rules.
        #expect(!ops.contains { if case .loadFirewall(pod.netns, _, _) = $0 { true } else { false } })
        #expect(ShellScript.command(qdiscs[0]) == "tc -n \(pod.netns) qdisc replace dev eth0 root tbf rate 10mbit burst 12500 limit 75000")
    }

    @Test func aSmallRateStillPassesAFullFrame() {
        #expect(TokenBucket(rateBitsPerSecond: 64_000, mtu: 1500).burstBytes == 1514)
    }

    @Test func lossIsARandomDropBothWaysInThePodsNamespace() throws {
        let topology = try Self.topology(Self.file(pod: Self.lossy))
        let pod = try #require(topology.pod(named: "a"))
        let ops = Planner.plan(topology).operations
        #expect(!ops.contains { if case .replaceQdisc = $0 { true } else { false } })
        let loads = ops.filter { if case .loadFirewall(pod.netns, _, _) = $0 { true } else { false } }
        #expect(loads == [.loadFirewall(netns: pod.netns, loader: .iptablesRestore, rules: """
            *mangle
            :LAB-IMPAIR-INGRESS - [0:0]
            :LAB-IMPAIR-EGRESS - [0:0]
            -A PREROUTING -j LAB-IMPAIR-INGRESS
            -A POSTROUTING -j LAB-IMPAIR-EGRESS
            -A LAB-IMPAIR-INGRESS -i eth0 -m statistic --mode random --probability 0.1 -j DROP
            -A LAB-IMPAIR-EGRESS -o eth0 -m statistic --mode random --probability 0.1 -j DROP
            COMMIT

            """)])
    }

    @Test func aNodesLossJoinsItsServiceRulesInOneLoad() throws {
        var file = Self.file()
        file.nodes[2].link = Self.lossy  // node-3 has the service's endpoint d
        let topology = try Self.topology(file)
        let node = try #require(topology.node(named: "node-3"))
        let loads = Planner.plan(topology).operations.filter {
            if case .loadFirewall(node.netns, .iptablesRestore, _) = $0 { true } else { false }
        }
        #expect(loads.count == 1)
        guard case .loadFirewall(_, _, let rules) = loads.first else { return }
        #expect(rules.contains("*nat"))
        #expect(rules.hasSuffix("-A LAB-IMPAIR-EGRESS -o eth0 -m statistic --mode random --probability 0.1 -j DROP\nCOMMIT\n"))
    }

    @Test func inNFTablesModeANodesLossIsALoadOfItsOwn() throws {
        var file = Self.file()
        file.cluster.proxy = .nftables
        file.nodes[2].link = Self.lossy
        let topology = try Self.topology(file)
        let node = try #require(topology.node(named: "node-3"))
        let loaders = Planner.plan(topology).operations.compactMap { operation -> FirewallLoader? in
            if case .loadFirewall(node.netns, let loader, _) = operation { return loader } else { return nil }
        }
        #expect(loaders == [.nft, .iptablesRestore])
    }

    @Test func impairmentsSurviveTopologyJSON() throws {
        let topology = try Self.topology(Self.file(pod: LinkImpairment(delayMicroseconds: 1_500, loss: 0.0025), network: Self.slow))
        let decoded = try JSONDecoder().decode(Topology.self, from: JSONEncoder().encode(topology))
        #expect(decoded == topology)
        #expect(decoded.impairments?.first?.impairment.summary == "delay 1500us loss 0.25%")
    }

    @Test func delayIsNetemWithTheRateAsItsFallback() throws {
        let topology = try Self.topology(Self.file(host: Self.delayed))
        let host = try #require(topology.host(named: "laptop"))
        let ops = Planner.plan(topology).operations
        let netem = Netem(delayMicroseconds: 20_000, jitterMicroseconds: 5_000, rateBitsPerSecond: 1_000_000, mtu: topology.mtu)
        #expect(netem.fallback == TokenBucket(rateBitsPerSecond: 1_000_000, mtu: topology.mtu))
        #expect(ops.contains(.replaceQdisc(netns: host.netns, link: "eth0", qdisc: .netem(netem))))
        #expect(ops.contains(.replaceQdisc(netns: topology.fabricNetns, link: host.uplink.peerName, qdisc: .netem(netem))))
        #expect(ShellScript.command(.replaceQdisc(netns: "ns", link: "eth0", qdisc: .netem(netem)))
            == "tc -n ns qdisc replace dev eth0 root netem limit 10000 delay 20ms 5ms rate 1mbit")
    }

    @Test func aNetworkImpairsEveryPortOfItsBridgeUnlessAMachineHasItsOwn() throws {
        var file = Self.file(network: Self.slow)
        file.nodes[1].link = Self.lossy  // node-2, on rack-1 too
        let topology = try Self.topology(file)
        let links = try #require(topology.impairments)
        #expect(links.map(\.object) == ["network/rack-1", "node/node-2"])
        let node1 = try #require(topology.node(named: "node-1"))
        #expect(links[0].outer == LinkEnd(netns: topology.fabricNetns, link: node1.uplink.peerName))
        #expect(links[0].inner == LinkEnd(netns: node1.netns, link: "eth0"))
    }

    @Test func aChangedImpairmentIsReplacedInPlace() throws {
        let old = try Self.topology(Self.file(pod: Self.slow))
        let new = try Self.topology(Self.file(pod: LinkImpairment(rateBitsPerSecond: 1_000_000)))
        let pod = try #require(new.pod(named: "a"))
        let plan = Reconciler.plan(from: old, to: new)
        #expect(!plan.operations.contains { if case .deleteQdisc = $0 { true } else { false } })
        #expect(!plan.operations.contains { if case .deleteLink = $0 { true } else { false } })
        let bucket = TokenBucket(rateBitsPerSecond: 1_000_000, mtu: new.podMTU)
        #expect(plan.operations.contains(.replaceQdisc(netns: pod.netns, link: "eth0", qdisc: .tokenBucket(bucket))))
        #expect(plan.operations.contains(.replaceQdisc(netns: pod.veth.netns, link: pod.veth.name, qdisc: .tokenBucket(bucket))))
    }

    @Test func aRemovedImpairmentIsTakenOff() throws {
        let old = try Self.topology(Self.file(pod: LinkImpairment(loss: 0.1, rateBitsPerSecond: 10_000_000)))
        let new = try Self.topology(Self.file())
        let pod = try #require(new.pod(named: "a"))
        let plan = Reconciler.plan(from: old, to: new)
        #expect(plan.operations.contains(.deleteQdisc(netns: pod.netns, link: "eth0")))
        #expect(plan.operations.contains(.deleteQdisc(netns: pod.veth.netns, link: pod.veth.name)))
        let removal = plan.operations.first { if case .loadFirewall(pod.netns, .iptablesRestore, _) = $0 { true } else { false } }
        guard case .loadFirewall(_, _, let rules) = removal else { Issue.record("no firewall change in \(pod.netns)"); return }
        #expect(rules.contains("-D PREROUTING -j LAB-IMPAIR-INGRESS"))
        #expect(rules.contains("-X LAB-IMPAIR-EGRESS"))
    }

    /// On a kernel without netem: delay by the delay line. A pod's two directions are queued in
    /// its node's namespace, before they reach the pod and as they leave it; its loss stays in
    /// the pod's own namespace and its rate is tbf's.
    @Test func withoutNetemAPodsDelayIsQueuedInItsNode() throws {
        var topology = try Self.topology(Self.file(pod: LinkImpairment(delayMicroseconds: 20_000, jitterMicroseconds: 5_000,
                                                                       loss: 0.1, rateBitsPerSecond: 1_000_000)))
        topology.delayMechanism = .delayLine
        let pod = try #require(topology.pod(named: "a"))
        let node = pod.veth.netns
        // Toward the pod: its address before conntrack (raw), and what a service DNATs to it
        // after (mangle); from the pod: before conntrack.
        #expect(ImpairmentPlan.delayQueues(topology) == [
            DelayQueue(object: "pod/a", netns: node, link: "eth0", direction: .ingress, queue: 0, delayMicroseconds: 20_000,
                       jitterMicroseconds: 5_000, rules: [
                        .init(table: "raw", chain: "LAB-DELAY-PREROUTING", match: "-d \(pod.ip)"),
                        .init(table: "raw", chain: "LAB-DELAY-OUTPUT", match: "-d \(pod.ip)"),
                        .init(table: "mangle", chain: "LAB-IMPAIR-EGRESS", match: "-o cni0 -d \(pod.ip) -m conntrack --ctstate DNAT --ctdir ORIGINAL"),
                       ]),
            DelayQueue(object: "pod/a", netns: node, link: "eth0", direction: .egress, queue: 1, delayMicroseconds: 20_000,
                       jitterMicroseconds: 5_000, rules: [.init(table: "raw", chain: "LAB-DELAY-PREROUTING", match: "-i cni0 -s \(pod.ip)")]),
        ])
        let ops = Planner.plan(topology).operations
        let bucket = TokenBucket(rateBitsPerSecond: 1_000_000, mtu: topology.podMTU)
        #expect(ops.filter { if case .replaceQdisc = $0 { true } else { false } } == [
            .replaceQdisc(netns: pod.netns, link: "eth0", qdisc: .tokenBucket(bucket)),
            .replaceQdisc(netns: pod.veth.netns, link: pod.veth.name, qdisc: .tokenBucket(bucket)),
        ])
        let rules = Dictionary(ImpairmentPlan.lossRules(topology), uniquingKeysWith: { a, _ in a })
        #expect(rules[pod.netns] == Self.mangle(
            "-A LAB-IMPAIR-INGRESS -i eth0 -m statistic --mode random --probability 0.1 -j DROP",
            "-A LAB-IMPAIR-EGRESS -o eth0 -m statistic --mode random --probability 0.1 -j DROP"))
        #expect(rules[node] == Self.mangle(
            "-A LAB-IMPAIR-EGRESS -o cni0 -d \(pod.ip) -m conntrack --ctstate DNAT --ctdir ORIGINAL -j NFQUEUE --queue-num 0") + Self.raw(
            "-A LAB-DELAY-PREROUTING -d \(pod.ip) -j NFQUEUE --queue-num 0",
            "-A LAB-DELAY-PREROUTING -i cni0 -s \(pod.ip) -j NFQUEUE --queue-num 1",
            "-A LAB-DELAY-OUTPUT -d \(pod.ip) -j NFQUEUE --queue-num 0"))
        // In the node's one firewall load.
        #expect(ops.contains { if case .loadFirewall(node, .iptablesRestore, let text) = $0 { text.contains("--queue-num 1") } else { false } })
        // With netem the same lab has no queue, and netem carries delay and rate.
        topology.delayMechanism = .netem
        #expect(ImpairmentPlan.delayQueues(topology).isEmpty)
        #expect(Planner.plan(topology).operations.contains { if case .replaceQdisc(_, _, .netem) = $0 { true } else { false } })
    }

    /// A host's uplink ends on the fabric's bridge: both directions are queued at its `eth0`,
    /// before conntrack (what it forwards, after).
    @Test func withoutNetemAHostsDelayIsQueuedAtItsEth0() throws {
        var topology = try Self.topology(Self.file(host: LinkImpairment(delayMicroseconds: 40_000, loss: 0.05)))
        topology.delayMechanism = .delayLine
        let host = topology.hosts[0]
        let rules = Dictionary(ImpairmentPlan.lossRules(topology), uniquingKeysWith: { a, _ in a })
        #expect(rules[host.netns] == Self.mangle(
            "-A LAB-IMPAIR-INGRESS -i eth0 -m statistic --mode random --probability 0.05 -j DROP",
            "-A LAB-IMPAIR-EGRESS -o eth0 -m statistic --mode random --probability 0.05 -j DROP",
            "-A LAB-IMPAIR-EGRESS -o eth0 -m addrtype ! --src-type LOCAL -j NFQUEUE --queue-num 1") + Self.raw(
            "-A LAB-DELAY-PREROUTING -i eth0 -j NFQUEUE --queue-num 0",
            "-A LAB-DELAY-OUTPUT -o eth0 -j NFQUEUE --queue-num 1"))
    }

    /// A new delay changes no kernel operation: the queues stay, the supervisor holds packets
    /// longer. Taking the delay away removes the queue rules.
    @Test func aChangedDelayKeepsTheQueuesAndARemovedOneTakesThemOff() throws {
        var old = try Self.topology(Self.file(pod: LinkImpairment(delayMicroseconds: 20_000)))
        var new = try Self.topology(Self.file(pod: LinkImpairment(delayMicroseconds: 50_000, jitterMicroseconds: 10_000)))
        old.delayMechanism = .delayLine
        new.delayMechanism = .delayLine
        #expect(Reconciler.plan(from: old, to: new).operations.isEmpty)
        #expect(ImpairmentPlan.delayQueues(new).map(\.delayMicroseconds) == [50_000, 50_000])
        let gone = try Self.topology(Self.file())
        let node = try #require(gone.pod(named: "a")).veth.netns
        let removal = Reconciler.plan(from: old, to: gone).operations.first {
            if case .loadFirewall(node, .iptablesRestore, _) = $0 { true } else { false }
        }
        guard case .loadFirewall(_, _, let rules) = removal else { Issue.record("no firewall change in \(node)"); return }
        #expect(rules.contains("-X LAB-IMPAIR-INGRESS"), "\(rules)")
    }
}
