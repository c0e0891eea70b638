import Foundation
import LabSpec
import Testing
@testable import LabPlan

/// `topology.json` in a lab's state is read by the next `lab up`, `status`, `exec` and by a
/// supervisor that may be an older or newer build than the one that wrote it. Its format is
/// pinned in `Golden/topology/`, written as `LabState` writes it, so that a change in how
/// `Topology` is modelled in Swift cannot change the file unnoticed. Regenerate with
/// `UPDATE_GOLDEN=1 swift test --filter TopologyJSONTests` only for a deliberate format change.
@Suite struct TopologyJSONTests {
    /// Every kind of value the topology stores: restart policies, agent ports of each protocol,
    /// named and numbered target ports, UDP and SCTP, NodePort with a Local policy, client-IP
    /// affinity, a headless service, a host.
    static let everyValue = """
        name: formats
        networks:
          - {name: rack-1, cidr: 192.168.1.0/24}
          - {name: rack-2, cidr: 172.16.0.0/16}
        nodes:
          - {name: node-1, network: rack-1}
          - {name: node-2, network: rack-2, ip: 172.16.1.1, podCIDR: 10.244.9.0/24}
        pods:
          - name: web-1
            node: node-1
            labels: {app: web}
            containers:
              - {name: a, agent: {http: [8080], tcp: [9000], udp: [9001]}, ports: [{name: http, containerPort: 8080}]}
              - {name: b, command: [sleep, infinity], restart: on-failure, env: {MODE: x}, ports: [{name: dns, containerPort: 5353, protocol: UDP}, {containerPort: 3868, protocol: SCTP}]}
          - name: web-2
            node: node-2
            labels: {app: web}
            containers:
              - {name: a, agent: {http: [8081]}, restart: never, ports: [{name: http, containerPort: 8081}]}
        services:
          - name: web
            selector: {app: web}
            type: NodePort
            externalTrafficPolicy: Local
            sessionAffinity: ClientIP
            ports:
              - {name: http, port: 80, targetPort: http}
              - {name: dns, port: 53, targetPort: dns, protocol: UDP}
              - {name: plain, port: 81, targetPort: 8080, nodePort: 30081}
              - {name: sctp, port: 3868, protocol: SCTP}
          - name: db
            namespace: data
            clusterIP: None
            selector: {app: db}
        hosts:
          - {name: laptop, network: rack-2}
        """

    static func json(_ topology: Topology) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(topology), as: UTF8.self)
    }

    static func check(_ topology: Topology, golden name: String) throws {
        let text = try json(topology)
        let golden = GoldenPlanTests.root.appendingPathComponent("Tests/LabPlanTests/Golden/topology/\(name).json")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: golden.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        #expect(text == expected, "topology of \(name) differs from \(golden.lastPathComponent)")
        // And a file in the pinned format reads back as the same topology.
        #expect(try JSONDecoder().decode(Topology.self, from: Data(expected.utf8)) == topology)
    }

    @Test func everyValueMatchesGolden() throws {
        let loaded = try LabFileLoader.parse(Self.everyValue, file: "formats.yaml")
        try Self.check(try TopologyBuilder.build(loaded.lab), golden: "formats")
    }

    @Test(arguments: GoldenPlanTests.labs)
    func exampleLabMatchesGolden(_ file: String) throws {
        let loaded = try LabFileLoader.load(path: GoldenPlanTests.root.appendingPathComponent("labs/\(file)").path)
        try Self.check(try TopologyBuilder.build(loaded.lab), golden: file.replacingOccurrences(of: ".yaml", with: ""))
    }
}
