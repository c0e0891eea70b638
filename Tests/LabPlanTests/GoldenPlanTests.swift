import Foundation
import LabSpec
import Testing
@testable import LabPlan

/// Every example lab's plan, rendered as the `--dry-run` script, is pinned in `Golden/`: a change
/// in naming, addressing or ordering shows up as a diff a reviewer reads. Regenerate with
/// `UPDATE_GOLDEN=1 swift test --filter GoldenPlanTests` and review the diff.
@Suite struct GoldenPlanTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let labs = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("labs").path))?
        .filter { $0.hasSuffix(".yaml") }.sorted() ?? []

    @Test func thereAreExampleLabs() { #expect(Self.labs.count >= 2) }

    @Test(arguments: labs)
    func planMatchesGolden(_ file: String) throws {
        let loaded = try LabFileLoader.load(path: Self.root.appendingPathComponent("labs/\(file)").path)
        let script = ShellScript.render(Planner.plan(try TopologyBuilder.build(loaded.lab)))
        let golden = Self.root.appendingPathComponent("Tests/LabPlanTests/Golden/\(file.replacingOccurrences(of: ".yaml", with: ".sh"))")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: golden.deletingLastPathComponent(), withIntermediateDirectories: true)
            try script.write(to: golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        #expect(script == expected, "plan of labs/\(file) differs from \(golden.lastPathComponent)")
    }
}
