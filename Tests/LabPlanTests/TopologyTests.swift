import LabAddress
@testable import LabSpec
import Testing
@testable import LabPlan

@Suite struct TopologyTests {
    @Test func nodeAddressesStartAtTwoAndSkipExplicitOnes() throws {
        let topology = try TopologyBuilder.build(Fixtures.threeNetworks())
        // node-2 took .2 explicitly, so node-1 (first in the file) gets .3.
        #expect(topology.node(named: "node-1")?.ip == IPv4Address("192.168.1.3"))
        #expect(topology.node(named: "node-2")?.ip == IPv4Address("192.168.1.2"))
        #expect(topology.node(named: "node-3")?.ip == IPv4Address("172.16.0.2"))
        #expect(topology.node(named: "node-4")?.ip == IPv4Address("10.10.0.2"))
        // Hosts come after nodes on the same network.
        #expect(topology.host(named: "laptop")?.ip == IPv4Address("172.16.0.3"))
        #expect(topology.node(named: "node-3")?.gateway == IPv4Address("172.16.0.1"))
        #expect(topology.node(named: "node-3")?.prefixLength == 16)
    }

    @Test func podCIDRsAreTheNextFreeSlash24StartingAtOne() throws {
        let topology = try TopologyBuilder.build(Fixtures.threeNetworks())
        // node-3 holds 10.244.1.0/24 explicitly; the others take 2, 3, 4 in file order.
        #expect(topology.nodes.map(\.podCIDR.description) == ["10.244.2.0/24", "10.244.3.0/24", "10.244.1.0/24", "10.244.4.0/24"])
        #expect(topology.node(named: "node-1")?.bridgeAddress == IPv4Address("10.244.2.1"))
    }

    @Test func podAddressesStartAtTwoSkipExplicitAndUseTheNodeGateway() throws {
        let topology = try TopologyBuilder.build(Fixtures.threeNetworks())
        #expect(topology.pod(named: "a")?.ip == IPv4Address("10.244.2.3"))
        #expect(topology.pod(named: "b")?.ip == IPv4Address("10.244.2.2"))
        #expect(topology.pod(named: "c")?.ip == IPv4Address("10.244.2.4"))
        #expect(topology.pod(named: "d")?.ip == IPv4Address("10.244.1.2"))
        #expect(topology.pod(named: "a")?.gateway == IPv4Address("10.244.2.1"))
        #expect(topology.pod(named: "a")?.prefixLength == 24)
        #expect(topology.pod(named: "a")?.veth.netns == "lab.t3.node.node-1")
        #expect(topology.pod(named: "a")?.veth.peerNetns == "lab.t3.pod.a")
    }

    @Test func clusterIPsAndEndpoints() throws {
        let topology = try TopologyBuilder.build(Fixtures.threeNetworks())
        let web = try #require(topology.services.first { $0.name == "web" })
        // 10.96.0.1 is taken explicitly by "fixed".
        #expect(web.clusterIP == IPv4Address("10.96.0.2"))
        #expect(web.endpoints == ["d", "e"])
        let headless = try #require(topology.services.first { $0.name == "headless" })
        #expect(headless.clusterIP == nil)
        #expect(headless.type == .headless)
        #expect(headless.endpoints == ["d", "e"])
    }

    @Test func vxlanModeLowersThePodMTU() throws {
        var file = Fixtures.threeNetworks()
        file.cluster.network = .vxlan
        let topology = try TopologyBuilder.build(file)
        #expect(topology.podMTU == 1450)
        #expect(topology.pods[0].veth.mtu == 1450)
        #expect(topology.nodes[0].uplink.mtu == 1500)
    }

    @Test func podsGetTheUnderlayMTUInRoutedMode() throws {
        var file = Fixtures.threeNetworks()
        file.cluster.mtu = 9000
        let topology = try TopologyBuilder.build(file)
        #expect(topology.podMTU == 9000)
        #expect(topology.pods[0].veth.mtu == 9000)
        #expect(topology.nodes[0].uplink.mtu == 9000)
    }

    @Test func theSameFileGivesTheSameTopology() throws {
        #expect(try TopologyBuilder.build(Fixtures.threeNetworks()) == TopologyBuilder.build(Fixtures.threeNetworks()))
    }

    @Test func aFullNetworkIsReportedAtTheNode() throws {
        var sourceMap = SourceMap(file: "full.yaml")
        sourceMap.record("nodes[2]", SourcePosition(line: 9, column: 5))
        let file = LabFile(name: "full", networks: [NetworkSpec(name: "tiny", cidr: IPv4Network("10.1.0.0/30")!)],
                           nodes: [NodeSpec(name: "n1"), NodeSpec(name: "n2"), NodeSpec(name: "n3")],
                           sourceMap: sourceMap)
        // A /30 has .1 (gateway) and .2 usable: the second node already does not fit.
        #expect(throws: LabFileErrors.self) { try TopologyBuilder.build(file) }
        do {
            _ = try TopologyBuilder.build(file)
        } catch let errors as LabFileErrors {
            #expect(errors.errors.count == 2)
            #expect(errors.errors.last?.description.hasPrefix("full.yaml:9:5: nodes[2]: network \"tiny\"") == true)
        }
    }

    @Test func aFullPodCIDRIsReported() throws {
        let file = LabFile(name: "p", cluster: ClusterSpec(podCIDR: IPv4Network("10.244.0.0/23")!),
                           nodes: [NodeSpec(name: "n1"), NodeSpec(name: "n2"), NodeSpec(name: "n3")])
        // A /23 holds two /24s: 10.244.1.0 first, then 10.244.0.0, then nothing.
        do {
            _ = try TopologyBuilder.build(file)
            Issue.record("expected an allocation error")
        } catch let errors as LabFileErrors {
            #expect(errors.errors.count == 1)
            #expect(errors.errors[0].path == "nodes[2]")
            #expect(errors.errors[0].message.contains("no free /24"))
        }
    }

    @Test func topologyRoundTripsThroughJSON() throws {
        let topology = try TopologyBuilder.build(Fixtures.threeNetworks())
        let data = try JSONEncoder().encode(topology)
        #expect(try JSONDecoder().decode(Topology.self, from: data) == topology)
    }
}

import Foundation

@Suite struct ExplicitPodAddressTests {
    @Test func anExplicitPodAddressOutsideTheAllocatedPodCIDRIsAnError() throws {
        var sourceMap = SourceMap(file: "x.yaml")
        sourceMap.record("pods[0].ip", SourcePosition(line: 7, column: 9))
        // node-1 is allocated 10.244.1.0/24; 10.244.9.5 is inside the cluster but not the node.
        let file = LabFile(name: "x", nodes: [NodeSpec(name: "node-1")],
                           pods: [PodSpec(name: "p", node: "node-1", ip: IPv4Address("10.244.9.5")!)],
                           sourceMap: sourceMap)
        do {
            _ = try TopologyBuilder.build(file)
            Issue.record("expected an error")
        } catch let errors as LabFileErrors {
            #expect(errors.errors.map(\.description) == [
                "x.yaml:7:9: pods[0].ip: 10.244.9.5 is outside node \"node-1\"'s podCIDR 10.244.1.0/24; pick an address in it, or give the node an explicit podCIDR that holds this one",
            ])
        }
    }
}
