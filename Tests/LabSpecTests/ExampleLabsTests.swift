import Foundation
import Testing
@testable import LabSpec

/// The labs shipped in `labs/` are what users copy from; every one must load without errors.
@Suite struct ExampleLabsTests {
    /// `labs/` of the repository, found from this file's place in `Tests/LabSpecTests/`.
    static let labsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("labs")

    static func labFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: labsDirectory.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { labsDirectory.appendingPathComponent($0).path }
    }

    @Test func everyExampleLabLoadsWithoutErrors() throws {
        let files = Self.labFiles()
        #expect(!files.isEmpty, "no labs/*.yaml found under \(Self.labsDirectory.path)")
        for path in files {
            do {
                let loaded = try LabFileLoader.load(path: path)
                #expect(!loaded.lab.name.isEmpty)
                #expect(!loaded.lab.nodes.isEmpty)
                #expect(loaded.lab.sourceMap.file == path)
            } catch {
                Issue.record("\(path) does not load:\n\(error)")
            }
        }
    }
}
