import Foundation
import Testing
@testable import LabSpec

/// Text that is not a lab file at all: each gives one error with a position, never a crash.
@Suite struct LabFileSyntaxTests {
    @Test func syntaxErrorIsReportedWhereTheParserStopped() {
        let error = Lab.error("name: demo\nnodes:\n  - name: node-1\n    ip: [unclosed\n")
        #expect(error?.at == "5:1")
        #expect(error?.path == "")
        #expect(error?.message.hasPrefix("invalid YAML: ") ?? false)
        #expect(error?.description.hasPrefix("lab.yaml:5:1: invalid YAML: ") ?? false)
    }

    @Test func badIndentationPointsAtTheOffendingLine() {
        let error = Lab.error("name: demo\nnodes:\n  - name: node-1\n   oops: x\n")
        #expect(error?.at == "4:4")
        #expect(error?.message.contains("did not find expected '-' indicator") ?? false)
        let second = Lab.error("name: demo\nnodes: x: y\n")
        #expect(second?.at == "2:9")
        #expect(second?.message.contains("mapping values are not allowed") ?? false)
    }

    @Test func emptyFileExplainsAMinimalFile() {
        for text in ["", "   \n\n", "# only a comment\n# and another\n", "---\n", "~\n"] {
            let error = Lab.error(text)
            #expect(error?.at == "1:1")
            #expect(error?.message == LabFileLoader.emptyFileMessage)
            #expect(error?.message.contains("name: demo") ?? false)
        }
    }

    @Test func topLevelMustBeAMapping() {
        let error = Lab.error("- name: demo\n")
        #expect(error?.at == "1:1")
        #expect(error?.message.hasPrefix("expected a mapping (keys: name, cluster, networks, nodes, pods, services, hosts, probes, namespaces, networkPolicies, scenarios), found a list") ?? false)
    }

    @Test func aSecondDocumentIsAnError() {
        let error = Lab.error(Lab.minimal + "---\nname: other\n")
        #expect(error?.position.line == 4)
        #expect(error?.message.contains("one YAML document") ?? false)
    }

    @Test func binaryGarbageGivesAnErrorNotACrash() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let bytes = (0..<512).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = String(decoding: bytes, as: UTF8.self)
            let errors = Lab.errors(text)
            #expect(!errors.isEmpty)
        }
        let error = Lab.error("name: demo\u{0}\u{1}\u{2}\n")
        #expect(error?.at == "1:11")
        #expect(error?.message.contains("not YAML text") ?? false)
    }

    @Test func deeplyNestedInputDoesNotCrash() {
        let errors = Lab.errors("name: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n")
        #expect(!errors.isEmpty)
        let errors2 = Lab.errors("name: demo\nnodes: " + String(repeating: "[", count: 900) + String(repeating: "]", count: 900) + "\n")
        #expect(!errors2.isEmpty)
    }

    @Test func hugeInputIsRefusedUpFront() {
        let text = "name: demo\n" + String(repeating: "# padding padding padding padding padding padding\n", count: 200_000)
        let error = Lab.error(text)
        #expect(error?.at == "1:1")
        #expect(error?.message.contains("larger than 8 MiB") ?? false)
    }

    @Test func manyObjectsParseQuickly() throws {
        var text = "name: big\nnodes:\n" + (1...20).map { "  - name: node-\($0)\n" }.joined()
        text += "pods:\n" + (1...2000).map { "  - {name: pod-\($0), node: node-\($0 % 20 + 1), labels: {app: a\($0 % 7)}}\n" }.joined()
        let lab = try Lab.load(text).lab
        #expect(lab.pods.count == 2000)
    }

    @Test func billionLaughsStaysCheap() {
        // Aliases share storage; the decoder must not walk them exponentially.
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 { text += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n" }
        text += "name: demo\nnodes: [{name: node-1}]\nprobes: [{from: node-1, exec: *a9}]\n"
        let errors = Lab.errors(text)
        #expect(errors.contains { $0.message.contains("unknown key \"a0\"") })
    }

    @Test func unreadableFileNamesTheOSReason() {
        let path = "/nonexistent-\(UInt64.random(in: 0...UInt64.max))/lab.yaml"
        #expect {
            try LabFileLoader.load(path: path)
        } throws: { error in
            guard let errors = error as? LabFileErrors, errors.errors.count == 1 else { return false }
            let error = errors.errors[0]
            return error.file == path && error.at == "1:1" && error.message.contains("No such file or directory")
        }
        #expect {
            try LabFileLoader.load(path: NSTemporaryDirectory())
        } throws: { error in
            (error as? LabFileErrors)?.errors.first?.message.contains("Is a directory") ?? false
        }
    }

    @Test func fileOnDiskLoadsAndNamesItselfInMessages() throws {
        let path = NSTemporaryDirectory() + "labspec-\(UInt64.random(in: 0...UInt64.max)).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Lab.minimal.write(toFile: path, atomically: true, encoding: .utf8)
        let loaded = try LabFileLoader.load(path: path)
        #expect(loaded.lab.name == "demo")
        #expect(loaded.lab.sourceMap.file == path)

        try "name: demo\nnodez: []\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            try LabFileLoader.load(path: path)
        } throws: { error in
            (error as? LabFileErrors)?.errors.contains { $0.description.hasPrefix("\(path):2:1: nodez: unknown key") } ?? false
        }
    }

    @Test func fileThatIsNotUTF8IsRefusedWithAPosition() throws {
        let path = NSTemporaryDirectory() + "labspec-\(UInt64.random(in: 0...UInt64.max)).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data([0x6E, 0x61, 0x6D, 0x65, 0x3A, 0x0A, 0x20, 0x20, 0xFF, 0xFE]).write(to: URL(fileURLWithPath: path))
        #expect {
            try LabFileLoader.load(path: path)
        } throws: { error in
            guard let error = (error as? LabFileErrors)?.errors.first else { return false }
            return error.at == "2:3" && error.message.contains("not UTF-8")
        }
    }
}
