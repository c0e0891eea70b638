import Foundation
@testable import LabDNS
import LabPlan
import LabSpec
import Testing

/// The record set of every example lab, as dig would print each record, pinned in `Golden/`:
/// a change in what a lab's names resolve to shows up as a diff a reviewer reads. Regenerate
/// with `UPDATE_GOLDEN=1 swift test --filter GoldenZoneTests` and review the diff.
@Suite struct GoldenZoneTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let labs = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("labs").path))?
        .filter { $0.hasSuffix(".yaml") }.sorted() ?? []

    @Test func demoIsAmongTheLabs() { #expect(Self.labs.contains("demo.yaml")) }

    @Test(arguments: labs)
    func zoneMatchesGolden(_ file: String) throws {
        let loaded = try LabFileLoader.load(path: Self.root.appendingPathComponent("labs/\(file)").path)
        let topology = try TopologyBuilder.build(loaded.lab)
        // The zone the lab's supervisor serves, as it builds it.
        let text = try #require(ClusterZone(topology: topology)).zoneText
        let golden = Self.root.appendingPathComponent("Tests/LabDNSTests/Golden/\(file.replacingOccurrences(of: ".yaml", with: ".zone"))")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try text.write(to: golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        #expect(text == expected, "records of labs/\(file) differ from \(golden.lastPathComponent)")
    }

    @Test func demoServiceResolvesToItsClusterIP() throws {
        let loaded = try LabFileLoader.load(path: Self.root.appendingPathComponent("labs/demo.yaml").path)
        let zone = ClusterZone(ClusterDNSInput(topology: try TopologyBuilder.build(loaded.lab)))
        #expect(zone.records(named: DNSName("web.default.svc.cluster.local")!).map(\.data.text) == ["10.96.0.20"])
        #expect(zone.records(named: DNSName("_http._tcp.web.default.svc.cluster.local")!).map(\.data.text)
                == ["0 100 80 web.default.svc.cluster.local."])
        #expect(zone.records(named: DNSName("10-244-4-40.default.pod.cluster.local")!).map(\.data.text) == ["10.244.4.40"])
    }
}
