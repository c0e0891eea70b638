import Testing
@testable import LabSpec

/// The address plan: CIDR syntax, overlaps, and every address inside its range and unique.
@Suite struct AddressValidationTests {
    @Test func cidrWithHostBitsSuggestsTheNetwork() {
        #expect(Lab.error(Lab.minimal + "cluster: {podCIDR: 10.244.1.5/16}\n")?.description
            == "lab.yaml:4:20: cluster.podCIDR: 10.244.1.5/16 has host bits set; did you mean 10.244.0.0/16?")
    }

    @Test func malformedCIDRsSayWhatIsWrong() {
        let errors = Lab.errors(Lab.minimal + """
        networks:
          - {name: a, cidr: 10.0.0.0}
          - {name: b, cidr: 10.1.0.0/33}
          - {name: c, cidr: rack}
          - {name: d, cidr: 10.2.0.300/24}
        """)
        #expect(errors.map(\.message) == [
            "10.0.0.0 has no prefix length; write it like 10.0.0.0/24",
            "\"10.1.0.0/33\" has an invalid prefix length; it must be 0...32",
            "\"rack\" is not an IPv4 CIDR like 10.0.0.0/24",
            "\"10.2.0.300/24\" is not an IPv4 CIDR like 10.0.0.0/24",
        ])
        #expect(errors.map(\.at) == ["5:21", "6:21", "7:21", "8:21"])
    }

    @Test func malformedAddressesAreRefused() {
        let errors = Lab.errors("name: demo\nnodes: [{name: a, ip: 172.18.0.05}, {name: b, ip: 172.18.0.6/24}]\n")
        #expect(errors.map(\.message) == [
            "\"172.18.0.05\" is not an IPv4 address",
            "\"172.18.0.6/24\" is not an IPv4 address; write the address without a prefix length",
        ])
    }

    @Test func podAndServiceCIDRsMustNotOverlap() {
        #expect(Lab.error(Lab.minimal + "cluster: {podCIDR: 10.0.0.0/8}\n")?.description
            == "lab.yaml:4:20: cluster.podCIDR: cluster.podCIDR 10.0.0.0/8 and cluster.serviceCIDR 10.96.0.0/16 overlap")
        #expect(Lab.error(Lab.minimal + "cluster: {serviceCIDR: 10.244.128.0/20}\n")?.at == "4:24")
    }

    @Test func clusterRangesNeedRoom() {
        #expect(Lab.error(Lab.minimal + "cluster: {serviceCIDR: 10.96.0.0/31}\n")?.message
            == "serviceCIDR 10.96.0.0/31 is too small; use a prefix of /30 or shorter")
    }

    @Test func networksMustNotOverlapEachOtherOrTheClusterRanges() {
        let errors = Lab.errors(Lab.minimal + """
        networks:
          - {name: rack-1, cidr: 192.168.1.0/24}
          - {name: rack-2, cidr: 192.168.0.0/16}
          - {name: rack-3, cidr: 10.244.8.0/24}
          - {name: rack-4, cidr: 10.96.0.0/24}
          - {name: rack-5, cidr: 172.20.0.0/31}
        """)
        #expect(errors.map(\.description) == [
            "lab.yaml:6:26: networks[1].cidr: 192.168.0.0/16 overlaps network \"rack-1\" (192.168.1.0/24, line 5)",
            "lab.yaml:7:26: networks[2].cidr: 10.244.8.0/24 overlaps cluster.podCIDR 10.244.0.0/16",
            "lab.yaml:8:26: networks[3].cidr: 10.96.0.0/24 overlaps cluster.serviceCIDR 10.96.0.0/16",
            "lab.yaml:9:26: networks[4].cidr: 172.20.0.0/31 is too small for a network (its .1 is the gateway); use a prefix of /30 or shorter",
        ])
    }

    @Test func defaultNetworkClashIsReportedAtTheClusterRange() {
        #expect(Lab.error(Lab.minimal + "cluster: {podCIDR: 172.16.0.0/12}\n")?.description
            == "lab.yaml:4:20: cluster.podCIDR: cluster.podCIDR 172.16.0.0/12 overlaps the default underlay network \"underlay\" (172.18.0.0/24); choose another range or add a networks: section")
    }

    @Test func vxlanNeedsRoomForItsHeaders() {
        #expect(Lab.error(Lab.minimal + "cluster: {network: vxlan, mtu: 600}\n")?.description
            == "lab.yaml:4:32: cluster.mtu: mtu 600 leaves pods 550 with vxlan (50 bytes of overlay headers); use at least 626")
        #expect(Lab.error(Lab.minimal + "cluster: {mtu: 500}\n")?.message == "mtu 500 is out of range 576...9216")
        #expect(throws: Never.self) { try LabFileLoader.parse(Lab.minimal + "cluster: {network: vxlan, mtu: 626}\n", file: "x") }
    }

    @Test func nodeNetworkMustExist() {
        let error = Lab.error("""
        name: demo
        networks: [{name: rack-1, cidr: 192.168.1.0/24}, {name: rack-2, cidr: 192.168.2.0/24}]
        nodes: [{name: node-1, network: rack-3}]
        """)
        #expect(error?.description == "lab.yaml:3:33: nodes[0].network: unknown network \"rack-3\"; did you mean \"rack-1\"? (networks: rack-1, rack-2)")
    }

    @Test func underlayAddressesFitTheirNetwork() {
        let errors = Lab.errors("""
        name: demo
        networks: [{name: rack-1, cidr: 192.168.1.0/24}, {name: rack-2, cidr: 192.168.2.0/24}]
        nodes:
          - {name: node-1, network: rack-2, ip: 192.168.1.10}
          - {name: node-2, ip: 192.168.1.0}
          - {name: node-3, ip: 192.168.1.255}
          - {name: node-4, ip: 192.168.1.1}
        hosts:
          - {name: laptop, network: rack-2, ip: 10.0.0.1}
        """)
        #expect(errors.map(\.description) == [
            "lab.yaml:4:41: nodes[0].ip: 192.168.1.10 is outside network \"rack-2\" (192.168.2.0/24)",
            "lab.yaml:5:24: nodes[1].ip: 192.168.1.0 is the network address of network \"rack-1\" (192.168.1.0/24)",
            "lab.yaml:6:24: nodes[2].ip: 192.168.1.255 is the broadcast address of network \"rack-1\" (192.168.1.0/24)",
            "lab.yaml:7:24: nodes[3].ip: 192.168.1.1 is the gateway of network \"rack-1\" (192.168.1.0/24), held by the lab's fabric",
            "lab.yaml:9:41: hosts[0].ip: 10.0.0.1 is outside network \"rack-2\" (192.168.2.0/24)",
        ])
    }

    @Test func nodeAndHostAddressesAreUnique() {
        let error = Lab.error("name: demo\nnodes: [{name: node-1, ip: 172.18.0.10}]\nhosts: [{name: laptop, ip: 172.18.0.10}]\n")
        #expect(error?.description == "lab.yaml:3:28: hosts[0].ip: 172.18.0.10 is already the address of node \"node-1\" (nodes[0], line 2)")
    }

    @Test func nodePodCIDRsLieInTheClusterAndDoNotOverlap() {
        let errors = Lab.errors("""
        name: demo
        nodes:
          - {name: node-1, podCIDR: 10.244.1.0/24}
          - {name: node-2, podCIDR: 10.244.1.128/25}
          - {name: node-3, podCIDR: 10.245.0.0/24}
          - {name: node-4, podCIDR: 10.244.9.0/31}
        """)
        #expect(errors.map(\.description) == [
            "lab.yaml:4:29: nodes[1].podCIDR: 10.244.1.128/25 overlaps the podCIDR 10.244.1.0/24 of node \"node-1\" (line 3)",
            "lab.yaml:5:29: nodes[2].podCIDR: 10.245.0.0/24 is outside cluster.podCIDR 10.244.0.0/16",
            "lab.yaml:6:29: nodes[3].podCIDR: 10.244.9.0/31 is too small for a node (its first address is cni0's); use a prefix of /30 or shorter",
        ])
    }

    @Test func aNetworkThatDidNotDecodeDoesNotJudgeItsMachines() {
        let error = Lab.error("""
        name: demo
        networks: [{name: rack-1, cidr: 192.168.1.0}]
        nodes: [{name: node-1, network: rack-1, ip: 192.168.1.10}]
        """)
        #expect(error?.path == "networks[0].cidr")
    }
}
