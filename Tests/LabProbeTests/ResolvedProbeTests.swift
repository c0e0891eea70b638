import LabPlan
import LabSpec
@testable import LabProbe
import Testing

/// From a lab file's probes, as `ProbeResolver` resolves them, to the engine's tasks: the
/// hand-over `lab verify` makes. (LabPlan comes with LabRuntime.)
struct ResolvedProbeTests {
    static let yaml = """
    name: probes
    networks: [{name: rack-1, cidr: 192.168.1.0/24}]
    nodes: [{name: node-1}, {name: node-2}]
    pods:
      - {name: client, node: node-1, containers: [{name: a, agent: {http: [8080]}}]}
      - {name: web-1, node: node-1, labels: {app: web}, containers: [{name: a, agent: {http: [8080], udp: [9001]}}]}
      - {name: web-2, node: node-2, labels: {app: web}, containers: [{name: a, agent: {http: [8080]}}]}
    hosts: [{name: laptop}]
    services:
      - {name: web, type: NodePort, selector: {app: web}, ports: [{port: 80, targetPort: 8080, nodePort: 30080}]}
    probes:
      - {name: lb, from: client, to: service/web, http: {port: 80, path: /hostname}, repeat: 10, timeout: 500ms, expect: {servedBy: [web-1, web-2]}}
      - {name: node port, from: laptop, to: service/web, http: {port: 80, nodePort: true}}
      - {name: rtt, from: node/node-1, to: web-2, ping: {count: 2}, retries: 3, expect: {rtt: "<5ms", loss: "0%"}}
      - {name: blocked, from: client, to: web-1, udp: {port: 9001, payload: hi}, expect: {reach: false}}
      - {name: run, from: web-1, exec: [true]}
      - {name: no nat, from: client, to: web-2, http: {port: 8080, path: /clientip}, expect: {clientIP: client}}
      - {name: mesh, matrix: {from: {app: web}, to: "*"}, ping: {}}
    """

    func tasks() throws -> (Topology, [String: ProbeTask]) {
        let file = try LabFileLoader.parse(Self.yaml, file: "probes.yaml").lab
        let topology = try TopologyBuilder.build(file)
        let tasks = ProbeResolver.resolve(file, topology: topology).map { ProbeTask($0, namespace: nil) }
        return (topology, Dictionary(tasks.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first }))
    }

    @Test func endpointsKindsAndExpectations() throws {
        let (topology, tasks) = try tasks()
        let lb = try #require(tasks["lb"])
        #expect(lb.endpoint == ProbeEndpoint(address: try #require(topology.services[0].clusterIP), port: 80))
        #expect(lb.action == .http(path: "/hostname", method: "GET"))
        #expect(lb.expectation.servedBy == ["web-1", "web-2"])
        #expect(lb.repeatCount == 10)
        #expect(lb.timeout == .milliseconds(500))
        #expect(try #require(tasks["node port (node/node-1)"]).endpoint?.port == 30080)
        let rtt = try #require(tasks["rtt"])
        #expect(rtt.action == .ping(count: 2))
        #expect(rtt.endpoint?.port == 0)
        #expect(rtt.expectation.rtt == MeasurementBound(comparison: .lessThan, value: 5))
        #expect(rtt.expectation.loss == MeasurementBound(comparison: .lessOrEqual, value: 0))
        #expect(rtt.retries == 3)
        let blocked = try #require(tasks["blocked"])
        #expect(blocked.action == .udp(payload: "hi"))
        #expect(blocked.expectation.reach == false)
        #expect(try #require(tasks["run"]).endpoint == nil)
        let client = try #require(topology.pods.first { $0.name == "client" })
        #expect(try #require(tasks["no nat"]).expectation.clientIP == client.ip.description)
    }

    /// A lab file's default of no retries still retries once (measured.md, pitfall 5).
    @Test func everyProbeRetriesAtLeastOnce() throws {
        let (_, tasks) = try tasks()
        #expect(try #require(tasks["lb"]).retries == 1)
    }

    @Test func matrixPairsShareTheirGroup() throws {
        let file = try LabFileLoader.parse(Self.yaml, file: "probes.yaml").lab
        let topology = try TopologyBuilder.build(file)
        let mesh = ProbeResolver.resolve(file, topology: topology).map { ProbeTask($0, namespace: nil) }.filter { $0.group != nil }
        #expect(!mesh.isEmpty)
        #expect(Set(mesh.map(\.group)).count == 1)
        #expect(mesh.allSatisfy { $0.action == .ping(count: 3) })
    }
}
