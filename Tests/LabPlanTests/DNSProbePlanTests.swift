import LabAddress
import LabSpec
import Testing
@testable import LabPlan

/// Probes by name and `dns` probes as the plan resolves them, and the model check's name rows.
@Suite struct DNSProbePlanTests {
    static let yaml = """
    name: names
    nodes: [{name: node-1}, {name: node-2}]
    pods:
      - {name: client, node: node-1}
      - {name: shopper, namespace: store, node: node-2}
      - {name: cart-1, namespace: store, node: node-2, labels: {app: cart}, containers: [{name: a, agent: {http: [8080]}}]}
      - {name: db-1, namespace: store, node: node-1, labels: {app: db}}
    services:
      - {name: web, selector: {app: web}, ports: [{name: http, port: 80}]}
      - {name: cart, namespace: store, selector: {app: cart}, ports: [{name: http, port: 80, targetPort: 8080}]}
      - {name: db, namespace: store, type: Headless, selector: {app: db}}
      - {name: gone, namespace: store, type: Headless, selector: {app: nothing}}
    probes:
      - {from: client, to: cart.store, http: {port: 80, path: /hostname}}
      - {name: by fqdn, from: client, to: cart.store.svc.cluster.local., tcp: {port: 80}}
      - {from: shopper, to: dns:cart, ping: {count: 1}}
      - {from: client, dns: {name: cart.store}, expect: {answers: [10.96.0.11]}}
      - {from: shopper, dns: {name: web.nope, type: A}, expect: {rcode: NXDOMAIN}}
    """

    static func topology() throws -> (LabFile, Topology) {
        let file = try LabFileLoader.parse(yaml, file: "names.yaml").lab
        return (file, try TopologyBuilder.build(file))
    }

    @Test func aProbeByNameCarriesItsLookupAndNoAddress() throws {
        let (file, topology) = try Self.topology()
        let probes = ProbeResolver.resolve(file, topology: topology)
        #expect(probes.count == 5)
        let http = probes[0]
        #expect(http.name == "client → cart.store:80 http")
        #expect(http.to == "cart.store")
        #expect(http.address == nil)
        #expect(http.port == 80)
        #expect(http.fromNetns == "lab.names.pod.client")
        #expect(http.lookup == ProbeLookup(name: "cart.store", namespace: "default", domain: "cluster.local",
                                           nameserver: IPv4Address(10, 96, 0, 10)))
        #expect(probes[1].lookup?.name == "cart.store.svc.cluster.local.")
        // The search path is the source pod's: shopper lives in store.
        #expect(probes[2].lookup?.namespace == "store")
        #expect(probes[2].kind == .ping(count: 1))
    }

    @Test func aDNSProbeGoesToTheNameserver() throws {
        let (file, topology) = try Self.topology()
        let probes = ProbeResolver.resolve(file, topology: topology)
        let query = probes[3]
        #expect(query.name == "client → cart.store dns A")
        #expect(query.address == IPv4Address(10, 96, 0, 10))
        #expect(query.port == 53)
        #expect(query.kind == .dns(name: "cart.store", type: .a))
        #expect(query.expect.answers == ["10.96.0.11"])
        #expect(probes[4].expect.rcode == .nameError)
    }

    @Test func theLabsOwnClusterDNSIsTheDefault() throws {
        let (file, topology) = try Self.topology()
        #expect(topology.dns?.domain == "cluster.local" && topology.dns?.clusterIP == IPv4Address(10, 96, 0, 10) && topology.dns?.podName == "coredns")
        #expect(ProbeResolver.resolve(file, topology: topology).allSatisfy { $0.lookup?.nameserver == IPv4Address(10, 96, 0, 10) })
        var without = topology
        without.dns = nil
        #expect(ProbeResolver.resolve(file, topology: without).isEmpty)
        #expect(!ModelCheck.probes(without).contains { $0.name.hasPrefix("model: dns") })
    }

    @Test func everyServiceResolvesFromEveryNamespace() throws {
        let (_, topology) = try Self.topology()
        let rows = ModelCheck.dnsProbes(topology, dns: try #require(topology.dns), policy: nil)
        // Sources: client (default) and shopper (store), the first pod of each namespace; never
        // coredns, the server itself (so kube-system asks nothing).
        #expect(rows.map(\.name) == [
            "model: dns web from default/client", "model: dns web.default from store/shopper",
            "model: dns cart.store from default/client", "model: dns cart from store/shopper",
            "model: dns db.store from default/client", "model: dns db from store/shopper",
            "model: dns gone.store from default/client", "model: dns gone from store/shopper",
            "model: dns kube-dns.kube-system from default/client", "model: dns kube-dns.kube-system from store/shopper",
        ])
        #expect(rows.allSatisfy { $0.port == 53 && $0.address == IPv4Address(10, 96, 0, 10) })
        #expect(rows[0].expect.answers == [topology.services[0].clusterIP!.description])
        #expect(rows[3].lookup?.namespace == "store")
        #expect(rows[3].kind == .dns(name: "cart", type: .a))
        // Headless: the endpoints' addresses, or NXDOMAIN without one.
        #expect(rows[4].expect.answers == [topology.pod(named: "db-1")!.ip.description])
        #expect(rows[6].expect.rcode == .nameError && rows[6].expect.answers == nil)
    }

    @Test func theModelCheckIncludesTheNameRows() throws {
        let (_, topology) = try Self.topology()
        #expect(ModelCheck.probes(topology).filter { $0.name.hasPrefix("model: dns") }.count == 10)
    }

    /// A NetworkPolicy that denies a pod egress denies it DNS: its rows expect no reply.
    @Test func aPodDeniedDNSExpectsNoReply() throws {
        let text = Self.yaml.replacingOccurrences(of: "  - {name: client, node: node-1}", with: "  - {name: client, node: node-1, labels: {role: client}}")
            .replacingOccurrences(of: "probes:\n", with: """
            networkPolicies:
              - {name: no-egress, namespace: default, podSelector: {matchLabels: {role: client}}, policyTypes: [Egress]}
            probes:

            """)
        let topology = try TopologyBuilder.build(try LabFileLoader.parse(text, file: "names.yaml").lab)
        let rows = ModelCheck.probes(topology).filter { $0.name.hasPrefix("model: dns") }
        #expect(rows.filter { $0.from == "default/client" }.allSatisfy { !$0.expect.reach && $0.expect.answers == nil })
        #expect(rows.filter { $0.from == "store/shopper" }.allSatisfy { $0.expect.reach })
        #expect(rows.filter { $0.from == "default/client" }.count == 5)
    }

    /// 1,000 pods in 100 namespaces and 100 services: each service from its own namespace and
    /// one other, not from all 100.
    @Test func rowsStaySaneInALargeLab() throws {
        var yaml = "name: big\nnodes: [{name: node-1}, {name: node-2}, {name: node-3}, {name: node-4}]\npods:\n"
        for i in 0..<1000 { yaml += "  - {name: p\(i), namespace: ns\(i % 100), node: node-\(i % 4 + 1), labels: {app: a\(i % 100)}}\n" }
        yaml += "services:\n"
        for s in 0..<100 { yaml += "  - {name: s\(s), namespace: ns\(s), selector: {app: a\(s)}, ports: [{port: 80}]}\n" }
        let topology = try TopologyBuilder.build(try LabFileLoader.parse(yaml, file: "big.yaml").lab)
        let rows = ModelCheck.dnsProbes(topology, dns: try #require(topology.dns), policy: nil)
        // 101 services (with kube-dns) from 100 namespaces would be 10,100 rows.
        #expect(rows.count == 100 * 2 + 1)
        #expect(Set(rows.map(\.from)).count == 100)
        #expect(rows.filter { !$0.to.contains(".") }.count == 100)
    }
}
