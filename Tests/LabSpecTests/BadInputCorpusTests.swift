import Foundation
import Testing
@testable import LabSpec

/// The bad-input corpus: malformed lab files in `Corpus/`, each stating on its
/// first lines what `lab validate` must say about it:
///
///     # expect: 7:11: pods[0].node: unknown node "node-9"
///
/// that is `LINE:COLUMN: ` and the start of what follows `FILE:LINE:COLUMN: ` in the error
/// (the path and the message; a prefix is enough). A file may hold several `# expect:` lines;
/// every one must match an error. Every file must be refused, and each expectation must match
/// one of its errors exactly at that position.
///
/// Cases that cannot be committed as small text files (the empty file, a huge file, binary
/// garbage, invalid UTF-8, deep nesting) are generated here and checked the same way. A handful
/// of corpus files also go through the real `lab validate`, which must exit 2 and print
/// `FILE:LINE:COLUMN: …`.
@Suite struct BadInputCorpusTests {
    // MARK: The corpus

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var text: String
        var expectations: [String]

        var testDescription: String { name }
    }

    static let corpusDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    static let expectPrefix = "# expect: "

    /// Every corpus file in name order, with its expectations read from its leading comments.
    static func corpus() -> [Case] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: corpusDirectory.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { name in
            let data = (try? Data(contentsOf: corpusDirectory.appendingPathComponent(name))) ?? Data()
            let text = String(decoding: data, as: UTF8.self)
            let expectations = text.split(separator: "\n", omittingEmptySubsequences: false)
                .prefix { $0.hasPrefix(expectPrefix) }
                .map { String($0.dropFirst(expectPrefix.count)) }
            return Case(name: name, text: text, expectations: expectations)
        }
    }

    /// `7:11: pods[0].node: unknown node …`: an error as the expectations spell it.
    static func located(_ error: LabFileError) -> String {
        let rest = error.path.isEmpty ? error.message : "\(error.path): \(error.message)"
        return "\(error.position.line):\(error.position.column): \(rest)"
    }

    /// The errors of `text`, recording an issue when it parses or throws something else.
    static func errors(of text: String, file: String) -> [LabFileError] {
        do {
            _ = try LabFileLoader.parse(text, file: file)
            Issue.record("\(file): expected errors, but the file parsed")
        } catch let errors as LabFileErrors {
            return errors.errors
        } catch {
            Issue.record("\(file): unexpected error type \(type(of: error)): \(error)")
        }
        return []
    }

    /// Checks that every expectation matches one of `errors`, and that the errors are sane:
    /// all name `file`, all have a position inside the text, none is only a warning.
    static func check(_ errors: [LabFileError], file: String, expectations: [String], lineCount: Int,
                      sourceLocation: SourceLocation = #_sourceLocation) {
        let shown = errors.map(located).joined(separator: "\n")
        #expect(!errors.isEmpty, "\(file): no errors", sourceLocation: sourceLocation)
        for expectation in expectations {
            #expect(errors.contains { located($0).hasPrefix(expectation) },
                    "\(file): no error matches\n  expected: \(expectation)\n  got:\n\(shown)", sourceLocation: sourceLocation)
        }
        for error in errors {
            #expect(error.file == file, "\(file): error names \(error.file)", sourceLocation: sourceLocation)
            #expect(error.severity == .error, sourceLocation: sourceLocation)
            #expect(error.position.line >= 1 && error.position.column >= 1, sourceLocation: sourceLocation)
            #expect(error.position.line <= lineCount + 1, "\(file): \(located(error)) lies past the end of the file",
                    sourceLocation: sourceLocation)
            #expect(error.description == "\(file):\(located(error))", sourceLocation: sourceLocation)
        }
    }

    static func lineCount(_ text: String) -> Int { text.utf8.count(where: { $0 == UInt8(ascii: "\n") }) + 1 }

    @Test func theCorpusIsLargeAndEveryFileSaysWhatItExpects() {
        let cases = Self.corpus()
        #expect(cases.count >= 55, "the corpus has \(cases.count) files")
        let pattern = /^[0-9]+:[0-9]+: .+$/
        let fileName = /^[0-9]{3}-[a-z0-9-]+\.yaml$/
        for item in cases {
            #expect(item.name.wholeMatch(of: fileName) != nil, "\(item.name): name it NNN-what-is-wrong.yaml")
            #expect(!item.expectations.isEmpty, "\(item.name): the first line must be \"\(Self.expectPrefix)LINE:COLUMN: message\"")
            for expectation in item.expectations {
                #expect(expectation.wholeMatch(of: pattern) != nil, "\(item.name): malformed expectation \"\(expectation)\"")
            }
            // Committed cases stay small; the huge ones are generated below.
            #expect(item.text.utf8.count < 4096, "\(item.name) is \(item.text.utf8.count) bytes")
        }
        let numbers = cases.map { $0.name.prefix(3) }
        #expect(Set(numbers).count == numbers.count, "two corpus files share a number")
    }

    @Test(arguments: BadInputCorpusTests.corpus())
    func corpusFileIsRefusedWithItsExpectedError(_ item: Case) {
        let errors = Self.errors(of: item.text, file: item.name)
        Self.check(errors, file: item.name, expectations: item.expectations, lineCount: Self.lineCount(item.text))
    }

    // MARK: Generated cases

    @Test(arguments: [("", "empty"), ("   \n\n  \n", "blank lines"), ("---\n", "document marker only"), ("~\n", "null")])
    func emptyFileExplainsAMinimalLab(_ text: String, _ label: String) {
        let errors = Self.errors(of: text, file: "empty.yaml")
        Self.check(errors, file: "empty.yaml", expectations: ["1:1: the file is empty; a minimal lab file is \"name: demo\""],
                   lineCount: Self.lineCount(text))
        #expect(errors.count == 1, "\(label)")
    }

    /// A text just over the limit is refused before YAML sees it, both from text and from disk.
    @Test func hugeFileIsRefusedUpFront() throws {
        var text = "name: demo\nnodes:\n"
        var index = 0
        while text.utf8.count <= LabFileSource.maximumSize {
            text += "  - {name: node-\(index)}\n"
            index += 1
        }
        #expect(text.utf8.count > 8 << 20)
        let expected = "1:1: the file is larger than 8 MiB; is it really a lab file?"
        let errors = Self.errors(of: text, file: "huge.yaml")
        Self.check(errors, file: "huge.yaml", expectations: [expected], lineCount: Self.lineCount(text))
        #expect(errors.count == 1)

        let path = try Self.temporaryFile(Data(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        Self.check(Self.loadErrors(path), file: path, expectations: [expected], lineCount: 1)
    }

    /// Bytes that are not UTF-8 stop at the first bad byte, with its position.
    @Test func invalidUTF8IsPlacedAtTheFirstBadByte() throws {
        let bytes = Array("name: demo\nnodes:\n  - name: node-".utf8) + [0xFF] + Array("1\n".utf8)
        let path = try Self.temporaryFile(Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        Self.check(Self.loadErrors(path), file: path,
                   expectations: ["3:16: the file is not UTF-8 text; is it really a lab file?"], lineCount: 3)
    }

    /// Random bytes (deterministic, so a failure reproduces) behind an ELF header: what a user
    /// gets by pointing `lab` at a program. From disk they stop at the first byte that is not
    /// UTF-8; decoded leniently as text they still give errors, never a crash.
    @Test func binaryGarbageIsRefused() throws {
        var generator = SplitMix(state: 7)
        for round in 0..<20 {
            let bytes = [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00] + (0..<2048).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let path = try Self.temporaryFile(Data(bytes))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let errors = Self.loadErrors(path)
            #expect(errors.count == 1, "round \(round)")
            #expect(errors.first?.message == "the file is not UTF-8 text; is it really a lab file?", "round \(round): \(errors)")
            #expect(errors.first.map { $0.position.line >= 1 && $0.position.column >= 1 } ?? false)

            let text = String(decoding: bytes, as: UTF8.self)
            let textErrors = Self.errors(of: text, file: "garbage.yaml")
            Self.check(textErrors, file: "garbage.yaml", expectations: [], lineCount: Self.lineCount(text))
        }
        // U+0000 is UTF-8 but not YAML text: placed at the NUL itself.
        let nul = "name: demo\u{0}\nnodes: [{name: node-1}]\n"
        Self.check(Self.errors(of: nul, file: "nul.yaml"), file: "nul.yaml",
                   expectations: ["1:11: the file is not YAML text: control characters are not allowed (U+0)"], lineCount: 3)
    }

    /// A UTF-16 file (what some Windows editors save) is refused as not UTF-8, at its BOM.
    @Test func utf16FileIsRefused() throws {
        var data = Data([0xFF, 0xFE])
        for unit in "name: demo\nnodes: [{name: node-1}]\n".utf16 { data.append(contentsOf: [UInt8(unit & 0xFF), UInt8(unit >> 8)]) }
        let path = try Self.temporaryFile(data)
        defer { try? FileManager.default.removeItem(atPath: path) }
        Self.check(Self.loadErrors(path), file: path,
                   expectations: ["1:1: the file is not UTF-8 text; is it really a lab file?"], lineCount: 1)
    }

    /// Nesting far past libyaml's limit is a syntax error, not a stack overflow.
    @Test func deepNestingIsASyntaxError() {
        let sequences = "name: demo\nnodes: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n"
        Self.check(Self.errors(of: sequences, file: "deep.yaml"), file: "deep.yaml",
                   expectations: ["2:9: the file nests too deep here for a lab file"], lineCount: 3)
        let mappings = "name: demo\nnodes: " + String(repeating: "{a: ", count: 20_000) + "1" + String(repeating: "}", count: 20_000) + "\n"
        Self.check(Self.errors(of: mappings, file: "deep.yaml"), file: "deep.yaml",
                   expectations: ["2:4000: the file nests too deep here for a lab file"], lineCount: 3)
    }

    // MARK: The real binary

    /// One corpus file per category, through `lab validate`: exit 2, every expectation printed
    /// as `FILE:LINE:COLUMN: …` on stderr, the closing "nothing was changed", nothing on stdout.
    @Test(arguments: [
        "001-tab-indentation.yaml", "008-only-comments.yaml", "029-agent-port-is-a-name.yaml",
        "046-misspelt-agent-key.yaml", "063-duplicate-network-name.yaml", "080-network-cidr-host-bits.yaml",
        "093-node-pod-cidrs-overlap.yaml", "108-duplicate-pod-ip.yaml", "126-node-port-reused.yaml",
        "140-pod-on-unknown-node.yaml", "161-probe-with-two-kinds.yaml", "201-many-errors-in-one-file.yaml",
    ])
    func labValidateExitsTwoWithThePosition(_ name: String) throws {
        let item = try #require(Self.corpus().first { $0.name == name }, "\(name) is not in the corpus")
        let path = Self.corpusDirectory.appendingPathComponent(name).path
        let result = try Self.labValidate(path)
        #expect(result.status == 2, "\(name): exit \(result.status)\n\(result.stderr)")
        #expect(result.stdout.isEmpty, "\(name): printed \(result.stdout)")
        let lines = result.stderr.split(separator: "\n").map(String.init)
        for expectation in item.expectations {
            #expect(lines.contains { $0.hasPrefix("\(path):\(expectation)") }, "\(name): no line \(path):\(expectation)\n\(result.stderr)")
        }
        #expect(lines.last?.hasSuffix("in the lab file; nothing was changed") ?? false, "\(result.stderr)")
    }

    @Test func labValidateRefusesHugeAndBinaryFiles() throws {
        let huge = try Self.temporaryFile(Data(("name: demo\nnodes: [{name: node-1}]\n" + String(repeating: "# padding\n", count: 900_000)).utf8))
        defer { try? FileManager.default.removeItem(atPath: huge) }
        let hugeResult = try Self.labValidate(huge)
        #expect(hugeResult.status == 2, "\(hugeResult.stderr)")
        #expect(hugeResult.stderr.hasPrefix("\(huge):1:1: the file is larger than 8 MiB"), "\(hugeResult.stderr)")

        var generator = SplitMix(state: 11)
        let bytes = [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00] + (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let garbage = try Self.temporaryFile(Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: garbage) }
        let garbageResult = try Self.labValidate(garbage)
        #expect(garbageResult.status == 2, "\(garbageResult.stderr)")
        #expect(garbageResult.stderr.hasPrefix("\(garbage):"), "\(garbageResult.stderr)")
        #expect(garbageResult.stderr.contains("UTF-8"), "\(garbageResult.stderr)")

        let empty = try Self.temporaryFile(Data())
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let emptyResult = try Self.labValidate(empty)
        #expect(emptyResult.status == 2, "\(emptyResult.stderr)")
        #expect(emptyResult.stderr.hasPrefix("\(empty):1:1: the file is empty"), "\(emptyResult.stderr)")
    }

    // MARK: Helpers

    static func temporaryFile(_ data: Data) throws -> String {
        let path = NSTemporaryDirectory() + "lab-corpus-\(UInt64.random(in: 0...UInt64.max)).yaml"
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The errors of the file at `path`, read the way the loader reads files.
    static func loadErrors(_ path: String) -> [LabFileError] {
        do {
            _ = try LabFileLoader.load(path: path)
            Issue.record("\(path): expected errors, but the file loaded")
        } catch let errors as LabFileErrors {
            return errors.errors
        } catch {
            Issue.record("\(path): unexpected error type \(type(of: error)): \(error)")
        }
        return []
    }

    /// The `lab` executable built next to this test bundle.
    static var labBinary: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while directory.path.contains(".xctest") { directory.deleteLastPathComponent() }
        return directory.appendingPathComponent("lab").path
    }

    /// Runs `lab validate PATH` to completion. `validate` needs no root and touches no kernel state.
    static func labValidate(_ path: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let binary = labBinary
        try #require(FileManager.default.isExecutableFile(atPath: binary), "no lab binary at \(binary)")
        // Output goes to files, not pipes: nothing can block on a full pipe, however much it prints.
        let outPath = try temporaryFile(Data()), errPath = try temporaryFile(Data())
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["validate", path]
        process.standardInput = FileHandle.nullDevice
        let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer {
            try? outHandle.close()
            try? errHandle.close()
        }
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        let stdoutData = try Data(contentsOf: URL(fileURLWithPath: outPath))
        let stderrData = try Data(contentsOf: URL(fileURLWithPath: errPath))
        return (process.terminationStatus, String(decoding: stdoutData, as: UTF8.self), String(decoding: stderrData, as: UTF8.self))
    }
}
