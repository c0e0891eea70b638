import Foundation
import LabAddress
import LabSpec
import Testing
@testable import LabPlan

/// Faults as kernel operations: each fault's transition in, its exact way back, and how two
/// faults on one link keep out of each other's way.
@Suite struct FaultPlanTests {
    static func topology(impairing pod: LinkImpairment? = nil) throws -> Topology {
        var file = Fixtures.threeNetworks(name: "flt")
        file.pods[0].link = pod
        return try TopologyBuilder.build(file)
    }

    static func set(_ faults: [Fault], in topology: Topology, at time: Double = 1000) throws -> FaultSet {
        var set = FaultSet()
        for fault in faults { set = set.replacing(with: FaultRecord(fault: try FaultPlan.resolve(fault, in: topology), since: time)) }
        return set
    }

    @Test func targetsResolveOrSayWhatThereIs() throws {
        let topology = try Self.topology()
        #expect(try FaultPlan.resolve(try Fault.down("a"), in: topology).targets == ["pod/a"])
        #expect(try FaultPlan.resolve(try Fault.down("node-3"), in: topology).notReadyAfterMilliseconds == 40_000)
        #expect(try FaultPlan.resolve(try Fault.impair("rack-1", loss: "1%"), in: topology).targets == ["network/rack-1"])
        let unknown = #expect(throws: FaultInputError.self) { try FaultPlan.resolve(try Fault.down("node/node-5"), in: topology) }
        #expect(unknown?.description == "lab flt has no pod, node or host \"node/node-5\"; did you mean node/node-1? (lab status lists them)")
        let typo = #expect(throws: FaultInputError.self) { try FaultPlan.resolve(try Fault.down("laptpo"), in: topology) }
        #expect(typo?.description.contains("did you mean host/laptop?") == true)
        let network = #expect(throws: FaultInputError.self) { try FaultPlan.resolve(try Fault.partition("rack-1", "rack-9"), in: topology) }
        #expect(network?.description == "lab flt has no network \"rack-9\"; did you mean rack-1? (networks: rack-1, rack-2, rack-3)")
    }

    @Test func aPodDownTakesBothEndsOfItsVethDownAndUpRestoresItsRoute() throws {
        let topology = try Self.topology()
        let pod = try #require(topology.pod(named: "a"))
        let down = try Self.set([try Fault.down("pod/a")], in: topology)
        let ops = FaultPlan.transition(topology, from: FaultSet(), to: down)
        #expect(ops == [.setDown(netns: pod.veth.netns, link: pod.veth.name), .setDown(netns: pod.netns, link: "eth0")])
        let back = FaultPlan.transition(topology, from: down, to: FaultSet())
        #expect(Array(back.prefix(2)) == [.setUp(netns: pod.veth.netns, link: pod.veth.name), .setUp(netns: pod.netns, link: "eth0")])
        // The kernel dropped the pod's default route with its link: it is set again.
        #expect(back.contains(.addRoute(netns: pod.netns, destination: IPv4Network("0.0.0.0/0")!, gateway: pod.gateway,
                                        device: "eth0", onlink: false)))
        #expect(back.contains(.addAddress(netns: pod.netns, link: "eth0", address: pod.ip, prefixLength: pod.prefixLength)))
        #expect(!back.contains { if case .setDown = $0 { true } else { false } })
    }

    @Test func aNodeDownTakesItsUplinkAndEveryPodVethDown() throws {
        let topology = try Self.topology()
        let node = try #require(topology.node(named: "node-1"))
        let set = try Self.set([try Fault.down("node/node-1")], in: topology)
        let ends = FaultPlan.downLinks(set, topology)
        // The uplink's two ends, and both ends of each pod's veth: the file's three pods on
        // node-1 and the cluster DNS pod, which the first node holds.
        #expect(topology.dnsPod?.node == "node-1")
        #expect(ends.count == 2 + (3 + 1) * 2)
        #expect(ends.prefix(2) == [LinkEnd(netns: node.netns, link: "eth0"), LinkEnd(netns: topology.fabricNetns, link: node.uplink.peerName)])
        // A pod of the node down on its own stays down when the node comes back.
        let both = try Self.set([try Fault.down("node/node-1"), try Fault.down("pod/b")], in: topology)
        let podB = try #require(topology.pod(named: "b"))
        let nodeBack = FaultPlan.transition(topology, from: both, to: both.removing { $0.fault.key == "down node/node-1" })
        #expect(!nodeBack.contains(.setUp(netns: podB.netns, link: "eth0")))
        #expect(nodeBack.contains(.setUp(netns: node.netns, link: "eth0")))
        #expect(!nodeBack.contains { if case .addRoute(podB.netns, _, _, _, _) = $0 { true } else { false } })
    }

    @Test func aPartitionIsATableOfItsOwnAndGoesWithoutATrace() throws {
        let topology = try Self.topology()
        let one = try Self.set([try Fault.partition("rack-1", "rack-2")], in: topology)
        let bridges = ["rack-1", "rack-2"].compactMap { topology.network(named: $0)?.bridge }
        let ops = FaultPlan.transition(topology, from: FaultSet(), to: one)
        #expect(ops == [.loadFirewall(netns: topology.fabricNetns, loader: .nft, rules: """
            table inet lab_fault {
            \tchain partition {
            \t\ttype filter hook forward priority -10; policy accept;
            \t\tiifname "\(bridges[0])" oifname "\(bridges[1])" drop
            \t\tiifname "\(bridges[1])" oifname "\(bridges[0])" drop
            \t}
            }

            """)])
        let back = FaultPlan.transition(topology, from: one, to: FaultSet())
        #expect(back == [.loadFirewall(netns: topology.fabricNetns, loader: .nft, rules: "delete table inet lab_fault\n")])
        // A second partition refills the chain in one transaction.
        let two = one.replacing(with: FaultRecord(fault: try Fault.partition("rack-1", "rack-3"), since: 0))
        let more = FaultPlan.transition(topology, from: one, to: two)
        guard case .loadFirewall(_, .nft, let rules) = try #require(more.first) else { Issue.record("\(more)"); return }
        #expect(rules.hasPrefix("flush chain inet lab_fault partition\n"))
        #expect(rules.components(separatedBy: "add rule inet lab_fault partition").count - 1 == 4)
    }

    @Test func aRunTimeImpairmentReplacesTheFilesAndClearBringsItBack() throws {
        let file = LinkImpairment(loss: 0.1)
        let topology = try Self.topology(impairing: file)
        let pod = try #require(topology.pod(named: "a"))
        let set = try Self.set([try Fault.impair("pod/a", rate: "1mbit")], in: topology)
        let ops = FaultPlan.transition(topology, from: FaultSet(), to: set)
        let bucket = TokenBucket(rateBitsPerSecond: 1_000_000, mtu: topology.podMTU)
        #expect(ops.contains(.replaceQdisc(netns: pod.netns, link: "eth0", qdisc: .tokenBucket(bucket))))
        #expect(ops.contains(.replaceQdisc(netns: pod.veth.netns, link: pod.veth.name, qdisc: .tokenBucket(bucket))))
        // The file's loss is gone while the run-time impairment (no loss) is in force…
        let loss = ops.compactMap { op -> String? in
            if case .loadFirewall(pod.netns, .iptablesRestore, let rules) = op { return rules } else { return nil }
        }
        #expect(loss == ["*mangle\n:LAB-IMPAIR-INGRESS - [0:0]\n:LAB-IMPAIR-EGRESS - [0:0]\n-D PREROUTING -j LAB-IMPAIR-INGRESS\n-D POSTROUTING -j LAB-IMPAIR-EGRESS\n-X LAB-IMPAIR-INGRESS\n-X LAB-IMPAIR-EGRESS\nCOMMIT\n"])
        // …and back, with the qdiscs the file never had deleted.
        let back = FaultPlan.transition(topology, from: set, to: FaultSet())
        #expect(back.contains(.deleteQdisc(netns: pod.netns, link: "eth0")))
        #expect(back.contains(.deleteQdisc(netns: pod.veth.netns, link: pod.veth.name)))
        #expect(back.contains { if case .loadFirewall(pod.netns, _, let rules) = $0 { rules.contains("--probability 0.1 -j DROP") } else { false } })
    }

    @Test func aNetworkImpairmentShapesEveryUplinkOnIt() throws {
        let topology = try Self.topology()
        let set = try Self.set([try Fault.impair("network/rack-1", rate: "10mbit")], in: topology)
        let shaped = FaultPlan.transition(topology, from: FaultSet(), to: set).compactMap(\.qdiscKey)
        let machines = topology.machines.filter { $0.network == "rack-1" }
        #expect(machines.count == 2)
        #expect(shaped.count == 4)
        #expect(Set(shaped.map(\.netns)) == Set(machines.map(\.netns) + [topology.fabricNetns]))
    }

    @Test func aNodeNotReadyResyncsOnlyTheServiceRules() throws {
        let topology = try Self.topology()
        var set = try Self.set([try Fault.down("node/node-3")], in: topology, at: 1000)
        let record = try #require(set.records.first)
        #expect(record.notReadyAt == 1040)
        #expect(set.nextDeadline == 1040)
        // Before the grace period ends only links change.
        let early = set.advanced(to: 1039)
        #expect(early == set)
        let downOps = FaultPlan.transition(topology, from: FaultSet(), to: set)
        #expect(downOps.allSatisfy { if case .setDown = $0 { true } else { false } })
        // At its end the node's pod (d) leaves the service: only firewall loads, in the nodes.
        set = set.advanced(to: 1040)
        #expect(set.notReadyNodes == ["node-3"])
        #expect(set.nextDeadline == nil)
        let notReady = FaultPlan.transition(topology, from: early, to: set)
        #expect(!notReady.isEmpty)
        #expect(notReady.allSatisfy { if case .loadFirewall(let netns, _, _) = $0 { topology.nodes.map(\.netns).contains(netns) } else { false } })
        let d = try #require(topology.pod(named: "d"))
        #expect(notReady.contains { if case .loadFirewall(_, _, let rules) = $0 { rules.contains("-X KUBE-SEP-") || rules.contains(d.ip.description) } else { false } })
        // The view the rules are rendered from: d is out, e stays.
        #expect(FaultPlan.withoutEndpoints(of: ["node-3"], topology).services.first { $0.name == "web" }?.endpoints == ["e"])
        // With `--not-ready-after 0` the endpoints go in the same transition as the links.
        let atOnce = try Self.set([try Fault.down("node/node-3", notReadyAfter: "0")], in: topology)
        #expect(atOnce.notReadyNodes == ["node-3"])
        let ops = FaultPlan.transition(topology, from: FaultSet(), to: atOnce)
        #expect(ops.contains { if case .loadFirewall = $0 { true } else { false } })
    }

    @Test func aFaultGivenAgainReplacesTheFirstAndExpires() throws {
        let topology = try Self.topology()
        var set = try Self.set([try Fault.down("pod/a", lasting: "2s")], in: topology, at: 100)
        set = set.replacing(with: FaultRecord(fault: try FaultPlan.resolve(try Fault.down("a", lasting: "5s"), in: topology), since: 101))
        #expect(set.records.count == 1)
        #expect(set.records[0].expires == 106)
        #expect(set.advanced(to: 105.9).records.count == 1)
        #expect(set.advanced(to: 106).isEmpty)
        #expect(FaultPlan.transition(topology, from: set, to: set).isEmpty)
    }

    @Test func theFaultSetRoundTripsThroughJSON() throws {
        let topology = try Self.topology()
        let set = try Self.set([try Fault.down("node/node-1", notReadyAfter: "0", lasting: "1m"), try Fault.partition("rack-1", "rack-3"),
                                try Fault.impair("pod/a", delay: "20ms", jitter: "1ms", loss: "0.5%", rate: "2mbit")], in: topology)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(set)
        #expect(try JSONDecoder().decode(FaultSet.self, from: data) == set)
    }
}
