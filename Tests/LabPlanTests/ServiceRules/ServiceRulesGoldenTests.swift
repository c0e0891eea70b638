import Foundation
import LabSpec
import Testing
@testable import LabPlan

extension ServiceRulesTests {
    /// The full rule text for every node of `ServiceRulesFixtures.lab()`, pinned in
    /// `Golden/rules/`: any change in a chain name, comment, order or probability is a diff a
    /// reviewer reads. Regenerate with `UPDATE_GOLDEN=1 swift test --filter ServiceRulesTests`.
    @Suite struct GoldenRuleTests {
        static let goldenDirectory = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Golden/rules")

        static func check(_ text: String, against file: String) throws {
            let url = goldenDirectory.appendingPathComponent(file)
            if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
                try FileManager.default.createDirectory(at: goldenDirectory, withIntermediateDirectories: true)
                try text.write(to: url, atomically: true, encoding: .utf8)
            }
            let expected = try String(contentsOf: url, encoding: .utf8)
            #expect(text == expected, "rendered rules differ from Golden/rules/\(file)")
        }

        @Test(arguments: ["node-1", "node-2", "node-3"])
        func iptables(_ node: String) throws {
            let topology = try ServiceRulesFixtures.topology()
            try Self.check(IPTablesRules.render(topology: topology, node: try #require(topology.node(named: node))),
                           against: "iptables-\(node).rules")
        }

        @Test(arguments: ["node-1", "node-2", "node-3"])
        func nftables(_ node: String) throws {
            let topology = try ServiceRulesFixtures.topology()
            try Self.check(NFTablesRules.render(topology: topology, node: try #require(topology.node(named: node))),
                           against: "nftables-\(node).nft")
        }

        /// The variant for a fresh namespace, with the hook jumps inside the restore input.
        @Test func iptablesWithHooksInTheBuffer() throws {
            let topology = try ServiceRulesFixtures.topology()
            let node = try #require(topology.node(named: "node-1"))
            try Self.check(IPTablesRules.render(topology: topology, node: node, options: .init(hooksInBuffer: true)),
                           against: "iptables-node-1-with-hooks.rules")
        }

        @Test func hookRules() throws {
            let text = IPTablesRules.hookRules().map { "-t \($0.table) \($0.restoreLine)" }.joined(separator: "\n") + "\n"
            try Self.check(text, against: "iptables-hooks.rules")
        }
    }
}
