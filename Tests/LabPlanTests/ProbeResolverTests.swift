import LabAddress
import LabSpec
import Testing
@testable import LabPlan

@Suite struct ProbeResolverTests {
    static let yaml = """
    name: probes
    networks: [{name: rack-1, cidr: 192.168.1.0/24}]
    nodes: [{name: node-1}, {name: node-2}]
    pods:
      - {name: client, node: node-1, labels: {app: client}, containers: [{name: a, agent: {http: [8080]}}]}
      - {name: web-1, node: node-1, labels: {app: web}, containers: [{name: a, agent: {http: [8080], udp: [9001]}}]}
      - {name: web-2, node: node-2, labels: {app: web}, containers: [{name: a, agent: {http: [8080]}}]}
    hosts: [{name: laptop}]
    services:
      - {name: web, type: NodePort, selector: {app: web}, ports: [{port: 80, targetPort: 8080, nodePort: 30080}]}
    probes:
      - {name: lb, from: client, to: service/web, http: {port: 80, path: /hostname}, repeat: 10, expect: {servedBy: [web-1, web-2]}}
      - {from: laptop, to: service/web, http: {port: 80, nodePort: true}}
      - {from: node/node-1, to: web-2, ping: {count: 2}, expect: {rtt: "<5ms"}}
      - {from: client, to: 10.244.2.2, udp: {port: 9001}, expect: {reach: false}}
      - {from: web-1, exec: [true]}
      - {name: no nat, from: client, to: web-2, http: {port: 8080, path: /clientip}, expect: {clientIP: client}}
      - {name: web mesh, matrix: {from: {app: web}, to: "*"}, ping: {}}
    """

    static func resolved() throws -> (Topology, [ResolvedProbe]) {
        let file = try LabFileLoader.parse(yaml, file: "probes.yaml").lab
        let topology = try TopologyBuilder.build(file)
        return (topology, ProbeResolver.resolve(file, topology: topology))
    }

    @Test func servicesMeanTheirClusterIPAndPort() throws {
        let (topology, probes) = try Self.resolved()
        let lb = try #require(probes.first { $0.name == "lb" })
        #expect(lb.address == topology.services[0].clusterIP)
        #expect(lb.port == 80)
        #expect(lb.fromNetns == "lab.probes.pod.client")
        #expect(lb.expect.servedBy == ["web-1", "web-2"])
        #expect(lb.repeatCount == 10)
    }

    @Test func nodePortProbesGoToEveryNodeIP() throws {
        let (topology, probes) = try Self.resolved()
        let viaNodes = probes.filter { $0.from == "host/laptop" }
        #expect(viaNodes.map(\.address) == topology.nodes.map(\.ip))
        #expect(viaNodes.allSatisfy { $0.port == 30080 })
        #expect(viaNodes.allSatisfy { $0.kind == .http(port: 30080, path: "/", method: "GET") })
    }

    @Test func referencesBecomeNamespacesAndAddresses() throws {
        let (topology, probes) = try Self.resolved()
        let ping = try #require(probes.first { $0.from == "node/node-1" })
        #expect(ping.fromNetns == "lab.probes.node.node-1")
        #expect(ping.address == topology.pod(named: "web-2")?.ip)
        #expect(ping.expect.rtt == MeasurementBound.rtt("<5ms"))
        let udp = try #require(probes.first { $0.kind.label == "udp" })
        #expect(udp.address == IPv4Address("10.244.2.2"))
        #expect(udp.expect.reach == false)
        let exec = try #require(probes.first { $0.kind.label == "exec" })
        #expect(exec.address == nil)
        #expect(exec.fromNetns == "lab.probes.pod.web-1")
        let noNAT = try #require(probes.first { $0.name == "no nat" })
        #expect(noNAT.expect.clientIP == topology.pod(named: "client")?.ip.description)
    }

    @Test func matrixExpandsToEveryPairButSelf() throws {
        let (_, probes) = try Self.resolved()
        let mesh = probes.filter { $0.group == "web mesh" }
        // from {app: web} = web-1, web-2; to "*" = client, web-1, web-2; minus the two self pairs.
        #expect(mesh.count == 4)
        #expect(Set(mesh.map { "\($0.from)>\($0.to)" }) == ["web-1>client", "web-1>web-2", "web-2>client", "web-2>web-1"])
    }

    @Test func theModelCheckCoversPodsNodesNATAndServices() throws {
        let (topology, _) = try Self.resolved()
        let probes = ModelCheck.probes(topology, coverage: .allPairs)
        // client, web-1, web-2 and the DNS pod: 12 ordered pairs; the DNS pod's agent answers
        // HTTP on its metrics port, so it is a no-NAT target as well.
        #expect(probes.filter { $0.group == ModelCheck.reachGroup }.count == 12)
        #expect(probes.filter { $0.to.hasPrefix("node/") }.count == 4)
        let noNAT = probes.filter { $0.name.hasPrefix("model: no NAT") }
        #expect(noNAT.count == 12)
        #expect(noNAT.contains { $0.to == "coredns" && $0.port == ClusterDNSTopology.metricsPort })
        #expect(noNAT.allSatisfy { probe in probe.expect.clientIP == topology.pod(named: probe.from)?.ip.description })
        let service = try #require(probes.first { $0.to == "service/web" })
        #expect(service.from == "client", "the client is not one of the endpoints")
        #expect(service.expect.servedBy == ["web-1", "web-2"])
        #expect(service.kind == .http(port: 80, path: "/hostname", method: "GET"))
    }
}
