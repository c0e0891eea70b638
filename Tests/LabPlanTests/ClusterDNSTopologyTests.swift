import Foundation
import LabAddress
import LabSpec
import Testing
@testable import LabPlan

/// The cluster DNS in the topology: a `coredns` pod on the first node, `kube-system/kube-dns`
/// in front of it, programmed like any service, and nothing of the file moved by them.
@Suite struct ClusterDNSTopologyTests {
    static func lab(_ extra: String = "", cluster: String = "") throws -> Topology {
        let yaml = """
        name: dnst
        \(cluster)
        nodes: [{name: node-1}, {name: node-2}]
        pods:
          - {name: a, node: node-1}
          - {name: b, node: node-2}
          - {name: c, node: node-1, ip: 10.244.1.3}
        services:
          - {name: s1, selector: {app: x}, ports: [{port: 80}]}
        \(extra)
        """
        return try TopologyBuilder.build(LabFileLoader.parse(yaml, file: "lab.yaml").lab)
    }

    @Test func aCoreDNSPodOnTheFirstNodeBehindKubeDNS() throws {
        let topology = try Self.lab()
        let dns = try #require(topology.dns)
        #expect(dns == ClusterDNSTopology(domain: "cluster.local", clusterIP: IPv4Address("10.96.0.10")!))
        #expect(dns.namespace == "kube-system" && dns.podName == "coredns" && dns.serviceName == "kube-dns")
        let pod = try #require(topology.dnsPod)
        // After the file's pods: a .2, c .3 (explicit), so the DNS pod takes .4.
        #expect(pod.node == "node-1" && pod.namespace == "kube-system" && pod.ip == IPv4Address("10.244.1.4"))
        #expect(pod.netns == "lab.dnst.pod.coredns")
        #expect(topology.pod(named: "a")?.ip == IPv4Address("10.244.1.2"))
        #expect(pod.labels == ["k8s-app": "kube-dns"])
        let container = try #require(pod.containers.first)
        #expect(pod.containers.count == 1 && container.name == "coredns" && container.isAgent)
        #expect(container.ports.map { "\($0.name ?? "")/\($0.port)/\($0.protocol.rawValue)" } == ["dns/53/UDP", "dns-tcp/53/TCP", "metrics/9153/TCP"])
        let service = try #require(topology.dnsService)
        #expect(service.clusterIP == IPv4Address("10.96.0.10") && service.type == .clusterIP && service.endpoints == ["coredns"])
        #expect(service.ports.map { "\($0.name ?? "")/\($0.port)/\($0.targetPort)/\($0.protocol.rawValue)" }
                == ["dns/53/53/UDP", "dns-tcp/53/53/TCP", "metrics/9153/9153/TCP"])
        // The file's service keeps the first address; kube-dns's is reserved before allocation.
        #expect(topology.services.first?.clusterIP == IPv4Address("10.96.0.1"))
        #expect(topology.policy == nil, "no policy section appears because of DNS")
    }

    @Test func offLeavesNoTrace() throws {
        let topology = try Self.lab(cluster: "cluster: {dns: false}")
        #expect(topology.dns == nil && topology.dnsPod == nil && topology.dnsService == nil)
        #expect(!topology.pods.contains { $0.name == "coredns" })
        #expect(!topology.services.contains { $0.name == "kube-dns" })
        let json = String(decoding: try JSONEncoder().encode(topology), as: UTF8.self)
        #expect(!json.contains("\"dns\""))
    }

    @Test func aCustomDomainAndAddress() throws {
        let topology = try Self.lab(cluster: "cluster: {dns: {domain: lab.internal, clusterIP: 10.96.7.7}}")
        #expect(topology.dns?.domain == "lab.internal")
        #expect(topology.dnsService?.clusterIP == IPv4Address("10.96.7.7"))
    }

    @Test func theTenthAddressIsSkippedByAllocation() throws {
        let services = (1...12).map { "  - {name: s\($0 + 1), selector: {app: x}, ports: [{port: 80}]}" }.joined(separator: "\n")
        let topology = try Self.lab(services)
        let addresses = topology.services.filter { $0.name != "kube-dns" }.compactMap(\.clusterIP)
        #expect(!addresses.contains(IPv4Address("10.96.0.10")!))
        #expect(Set(addresses).count == addresses.count)
        #expect(addresses.last == IPv4Address("10.96.0.14"), "13 services from .1, .10 skipped")
    }

    @Test func aChangedFileKeepsTheDNSPodsAddressAndNewPodsSkipIt() throws {
        let old = try Self.lab()
        var file = try LabFileLoader.parse("""
        name: dnst
        nodes: [{name: node-1}, {name: node-2}]
        pods:
          - {name: new, node: node-1}
          - {name: a, node: node-1}
          - {name: b, node: node-2}
          - {name: c, node: node-1, ip: 10.244.1.3}
        """, file: "lab.yaml").lab
        let new = try TopologyBuilder.build(file, previous: old)
        #expect(new.dnsPod?.ip == old.dnsPod?.ip)
        #expect(new.pod(named: "new")?.ip == IPv4Address("10.244.1.5"))
        file.cluster.dns = nil
        #expect(try TopologyBuilder.build(file, previous: old).dnsPod == nil)
    }

    @Test func kubeProxyProgramsKubeDNSInBothModes() throws {
        let topology = try Self.lab()
        let node = topology.nodes[0]
        let iptables = IPTablesRules.render(topology: topology, node: node, options: IPTablesRules.Options())
        // kube-proxy's own chain names for kube-dns (the hash of "kube-system/kube-dns:dns" + udp).
        #expect(iptables.contains("-A KUBE-SERVICES -m comment --comment \"kube-system/kube-dns:dns cluster IP\" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU"))
        #expect(iptables.contains("-A KUBE-SERVICES -m comment --comment \"kube-system/kube-dns:dns-tcp cluster IP\" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4"))
        #expect(iptables.contains("--to-destination 10.244.1.4:53"))
        #expect(iptables.contains("--to-destination 10.244.1.4:9153"))
        var nft = topology
        nft.proxy = .nftables
        let nftables = NFTablesRules.render(topology: nft, node: node)
        #expect(nftables.contains("10.96.0.10 . udp . 53"))
        #expect(nftables.contains("10.96.0.10 . tcp . 9153"))
    }

    @Test func theGeneratedChecksProbeTheDNSPodButStarMeansTheFilesPods() throws {
        let topology = try Self.lab()
        let probes = ModelCheck.probes(topology, coverage: .allPairs)
        #expect(probes.contains { $0.from == "coredns" && $0.to == "a" })
        #expect(probes.contains { $0.from == "a" && $0.to == "coredns" })
        // kube-dns's TCP ports through its ClusterIP: the DNS server's 53, the agent's 9153.
        #expect(probes.contains { $0.to == "service/kube-dns" && $0.port == 53 && $0.kind == .tcp(port: 53) })
        #expect(probes.contains { $0.to == "service/kube-dns" && $0.port == 9153 && $0.expect.servedBy == ["coredns"] })
        let file = try LabFileLoader.parse("""
        name: dnst
        nodes: [{name: node-1}]
        pods: [{name: a, node: node-1}, {name: b, node: node-1}]
        probes:
          - {name: mesh, matrix: {from: "*", to: "*"}, ping: {}}
          - {name: to dns, matrix: {from: "*", to: {k8s-app: kube-dns}}, ping: {}}
        """, file: "lab.yaml").lab
        let resolved = ProbeResolver.resolve(file, topology: try TopologyBuilder.build(file))
        #expect(Set(resolved.filter { $0.group == "mesh" }.map { "\($0.from)>\($0.to)" }) == ["a>b", "b>a"])
        #expect(Set(resolved.filter { $0.group == "to dns" }.map { "\($0.from)>\($0.to)" }) == ["a>coredns", "b>coredns"])
    }
}
