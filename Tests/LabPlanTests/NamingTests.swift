import LabAddress
@testable import LabSpec
import Testing
@testable import LabPlan

@Suite struct NamingTests {
    @Test func fnvMatchesThePublishedVector() {
        // FNV-1a 64 of "a" from the reference test vectors.
        #expect(StableHash.fnv1a64(["a"]) == 0xaf63_dc4c_8601_ec8c)
        #expect(StableHash.fnv1a64([""]) == 0xcbf2_9ce4_8422_2325)
    }

    @Test func partsAreSeparated() {
        #expect(StableHash.fnv1a64(["ab", "c"]) != StableHash.fnv1a64(["a", "bc"]))
    }

    @Test func vethNamesHaveTheCNIShape() {
        let name = Naming.podVeth(lab: "demo", pod: "web-1")
        #expect(name.count == 12)
        #expect(name.hasPrefix("veth"))
        #expect(name.dropFirst(4).allSatisfy { "0123456789abcdef".contains($0) })
        #expect(name == Naming.podVeth(lab: "demo", pod: "web-1"))
        #expect(name != Naming.podVeth(lab: "demo", pod: "web-2"))
        #expect(name != Naming.podVeth(lab: "other", pod: "web-1"))
        #expect(name != Naming.podVeth(lab: "demo", pod: "web-1", salt: 1))
    }

    @Test func readableNamesWhenTheyFitHashedOtherwise() {
        #expect(Naming.networkBridge(lab: "demo", network: "rack-1") == "br-rack-1")
        #expect(Naming.nodePort(lab: "demo", node: "node-1") == "n-node-1")
        let long = Naming.nodePort(lab: "demo", node: "a-very-long-node-name")
        #expect(long.utf8.count <= Naming.maxInterfaceNameLength)
        #expect(long.hasPrefix("n-"))
        #expect(long == Naming.nodePort(lab: "demo", node: "a-very-long-node-name"))
    }

    @Test func everyGeneratedInterfaceNameFitsIFNAMSIZ() throws {
        let longName = String(repeating: "x", count: 63)
        var file = Fixtures.threeNetworks()
        file.networks.append(NetworkSpec(name: longName, cidr: IPv4Network("10.20.0.0/24")!))
        file.nodes.append(NodeSpec(name: longName, network: longName))
        file.hosts.append(HostSpec(name: longName + "h".dropLast(), network: longName))
        file.pods.append(PodSpec(name: "p-" + String(repeating: "y", count: 61), node: longName))
        let topology = try TopologyBuilder.build(file)
        let plan = Planner.plan(topology)
        var names: [String] = []
        for operation in plan.operations {
            switch operation {
            case .addBridge(_, let name, _, _): names.append(name)
            case .addVeth(let pair, _): names += [pair.name, pair.peerName]
            default: break
            }
        }
        #expect(names.count > 10)
        for name in names { #expect(name.utf8.count <= 15, "\(name) is longer than 15 bytes") }
    }

    @Test func macsAreLocallyAdministeredUnicastAndStable() {
        let mac = Naming.mac(lab: "demo", object: "pod/a", interface: "eth0")
        #expect(mac.bytes[0] == 0x02)
        #expect(mac == Naming.mac(lab: "demo", object: "pod/a", interface: "eth0"))
        #expect(mac != Naming.mac(lab: "demo", object: "pod/b", interface: "eth0"))
        #expect(mac.description.count == 17)
    }

    @Test func namespacePrefixDoesNotMatchALongerLabName() {
        let prefix = Naming.namespacePrefix(lab: "demo")
        #expect(Naming.podNetns(lab: "demo", pod: "a").hasPrefix(prefix))
        #expect(!Naming.podNetns(lab: "demo-2", pod: "a").hasPrefix(prefix))
    }
}
