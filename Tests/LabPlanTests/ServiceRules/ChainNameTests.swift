import LabAddress
import LabSpec
import Testing
@testable import LabPlan

extension ServiceRulesTests {
    /// Chain names checked against names kube-proxy itself publishes: the expected output of
    /// `pkg/proxy/{iptables,nftables}/proxier_test.go` (TestOverall*Rules and friends) and the
    /// worked example of reference/k8s-datapath.md §1.3 / §1.8.
    @Suite struct ChainNameTests {
        static func port(_ namespace: String, _ name: String, _ portName: String = "p80", _ proto: String = "TCP") -> ServicePortName {
            ServicePortName(namespace: namespace, name: name, port: portName, protocol: proto)
        }

        @Test func theHashIsOfNamePortAndLowercaseProtocol() {
            // By hand with the primitives: the recipe, not just the function, is kube-proxy's.
            #expect(KubeProxyHash.base32SHA256("ns1/svc1:p80tcp", length: 16) == "XPGD46QRK7WJZT7O")
            #expect(IPTablesChainNames.servicePortChainHash(namespace: "ns1", name: "svc1", portName: "p80", protocol: "TCP")
                == "XPGD46QRK7WJZT7O")
            #expect(IPTablesChainNames.servicePortChainHash(namespace: "ns1", name: "svc1", portName: "p80", protocol: "udp")
                != "XPGD46QRK7WJZT7O")
        }

        @Test(arguments: [
            ("ns1", "svc1", "KUBE-SVC-XPGD46QRK7WJZT7O"),
            ("ns2", "svc2", "KUBE-SVC-GNZBNJ2PO5MGZ6GT"),
            ("ns4", "svc4", "KUBE-SVC-4SW47YFZTEDKD3PK"),
        ])
        func serviceChains(_ namespace: String, _ name: String, _ expected: String) {
            #expect(IPTablesChainNames.serviceChain(Self.port(namespace, name)) == expected)
        }

        @Test func policyExternalAndFirewallChainsShareTheHash() {
            let svc1 = Self.port("ns1", "svc1")
            #expect(IPTablesChainNames.localChain(svc1) == "KUBE-SVL-XPGD46QRK7WJZT7O")
            #expect(IPTablesChainNames.externalChain(svc1) == "KUBE-EXT-XPGD46QRK7WJZT7O")
            #expect(IPTablesChainNames.firewallChain(Self.port("ns5", "svc5")) == "KUBE-FW-NUKIZ6OKUXPJNT4C")
        }

        @Test(arguments: [
            // kube-proxy's proxier_test.go
            ("ns1", "svc1", "10.180.0.1:80", "KUBE-SEP-SXIVWICOYRO3J4NJ"),
            ("ns1", "svc1", "10.180.0.2:80", "KUBE-SEP-LXVODXWDISEETFEF"),
            ("ns1", "svc1", "10.180.2.1:80", "KUBE-SEP-ZX7GRIZKSNUQ3LAJ"),
            ("ns2", "svc2", "10.180.0.2:80", "KUBE-SEP-RS4RBKLTHTF2IUXJ"),
            ("ns3", "svc3", "10.180.0.3:80", "KUBE-SEP-OYPFS5VJICHGATKP"),
            ("ns4", "svc4", "10.180.0.4:80", "KUBE-SEP-UKSFD7AGPMPPLUHC"),
            ("ns4", "svc4", "10.180.0.5:80", "KUBE-SEP-C6EBXVWJJZMIWKLZ"),
            ("ns5", "svc5", "10.180.0.3:80", "KUBE-SEP-I77PXRDZVX7PMWMN"),
            // reference/k8s-datapath.md §1.3
            ("ns1", "svc1", "10.244.1.2:8080", "KUBE-SEP-HJ4XRC6RYIVW74AV"),
            ("ns1", "svc1", "10.244.1.3:8080", "KUBE-SEP-U2BF2LENKUUQ43DM"),
            ("ns1", "svc1", "10.244.2.2:8080", "KUBE-SEP-ZUKSS42JQPVOXAAY"),
        ])
        func endpointChains(_ namespace: String, _ name: String, _ endpoint: String, _ expected: String) {
            #expect(IPTablesChainNames.endpointChain(Self.port(namespace, name), endpoint: endpoint) == expected)
        }

        @Test func unnamedPortsDropTheColon() {
            let unnamed = Self.port("default", "web", "")
            #expect(unnamed.description == "default/web")
            #expect(IPTablesChainNames.serviceChain(unnamed)
                == "KUBE-SVC-" + KubeProxyHash.base32SHA256("default/webtcp", length: 16))
        }

        @Test(arguments: [
            ("ns1", "svc1", "service-ULMVA6XW-ns1/svc1/tcp/p80"),
            ("ns2", "svc2", "service-42NFTM6N-ns2/svc2/tcp/p80"),
            ("ns3", "svc3", "service-4AT6LBPK-ns3/svc3/tcp/p80"),
            ("ns4", "svc4", "service-LAUZTJTB-ns4/svc4/tcp/p80"),
            ("ns5", "svc5", "service-HVFWP5L3-ns5/svc5/tcp/p80"),
        ])
        func nftablesServiceChains(_ namespace: String, _ name: String, _ expected: String) {
            #expect(NFTablesChainNames.serviceChain(Self.port(namespace, name)) == expected)
        }

        @Test func nftablesExternalAndLocalChainsShareTheBase() {
            let svc2 = Self.port("ns2", "svc2")
            #expect(NFTablesChainNames.externalChain(svc2) == "external-42NFTM6N-ns2/svc2/tcp/p80")
            #expect(NFTablesChainNames.localChain(svc2) == "local-42NFTM6N-ns2/svc2/tcp/p80")
        }

        @Test(arguments: [
            ("ns1", "svc1", "10.180.0.1", 80, "endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"),
            ("ns2", "svc2", "10.180.0.2", 80, "endpoint-SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80"),
            ("ns3", "svc3", "10.180.0.3", 80, "endpoint-UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80"),
            ("ns4", "svc4", "10.180.0.4", 80, "endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80"),
            ("ns4", "svc4", "10.180.0.5", 80, "endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80"),
            ("ns5", "svc5", "10.180.0.3", 80, "endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80"),
            ("ns1", "svc1", "10.244.1.2", 8080, "endpoint-Z3J52OID-ns1/svc1/tcp/p80__10.244.1.2/8080"),
            ("ns1", "svc1", "10.244.1.3", 8080, "endpoint-XW3NH2ED-ns1/svc1/tcp/p80__10.244.1.3/8080"),
            ("ns1", "svc1", "10.244.2.2", 8080, "endpoint-OQOK5YG2-ns1/svc1/tcp/p80__10.244.2.2/8080"),
        ])
        func nftablesEndpointChains(_ namespace: String, _ name: String, _ ip: String, _ port: Int, _ expected: String) {
            #expect(NFTablesChainNames.endpointChain(Self.port(namespace, name), ip: IPv4Address(ip)!, targetPort: port) == expected)
        }

        @Test func affinitySetsAreNamedLikeTheirEndpointChain() {
            #expect(NFTablesChainNames.affinitySet(Self.port("ns5", "svc5"), ip: IPv4Address("10.180.0.3")!, targetPort: 80)
                == "affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80")
        }

        @Test func overlongNFTablesNamesAreTruncatedWithTheirHash() {
            let long = Self.port(String(repeating: "n", count: 63), String(repeating: "s", count: 63), String(repeating: "p", count: 15))
            let name = NFTablesChainNames.endpointBase(long, ip: IPv4Address("10.0.0.1")!, targetPort: 80)
            #expect(name.utf8.count <= NFTablesChainNames.baseLengthMax)
            let huge = NFTablesChainNames.hashAndTruncate(String(repeating: "x", count: 300))
            #expect(huge.utf8.count == NFTablesChainNames.baseLengthMax)
            #expect(huge.hasSuffix("..."))
        }

        /// iptables refuses chain names over 28 characters; every prefix must leave room.
        @Test func iptablesNamesFitTwentyEightCharacters() {
            let port = Self.port(String(repeating: "n", count: 63), String(repeating: "s", count: 63), String(repeating: "p", count: 15), "SCTP")
            for name in [IPTablesChainNames.serviceChain(port), IPTablesChainNames.localChain(port),
                         IPTablesChainNames.externalChain(port), IPTablesChainNames.firewallChain(port),
                         IPTablesChainNames.endpointChain(port, endpoint: "255.255.255.255:65535"),
                         IPTablesChainNames.externalServices, IPTablesChainNames.proxyFirewall] {
                #expect(name.count <= IPTablesChainNames.maxLength, "\(name)")
            }
        }
    }
}
