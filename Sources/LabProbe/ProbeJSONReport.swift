import Foundation

/// `lab verify --output json`: the counts and one object per probe with everything it
/// observed, for tools rather than people. Keys sorted and numbers rounded to the
/// microsecond, so the same results always give the same bytes.
public enum ProbeJSONReport {
    public struct Document: Sendable, Hashable, Codable {
        public var passed: Int
        public var failed: Int
        /// Probes that never finished because the run was interrupted; absent otherwise.
        public var notRun: Int?
        public var probes: [ProbeResult]
        /// The scenarios that ran after the probes, each with its own report; absent when none did.
        public var scenarios: [ScenarioDocument]?

        public init(_ results: [ProbeResult], notRun: Int? = nil) {
            passed = results.filter(\.passed).count
            failed = results.count - passed
            self.notRun = notRun
            probes = results
        }
    }

    /// One scenario of the document: its faults, what went wrong around its probes, and the
    /// report of its probes.
    public struct ScenarioDocument: Sendable, Hashable, Codable {
        public var name: String
        /// `down node/node-2`, `impair network/wan delay 100ms`.
        public var faults: [String]
        /// Why a fault could not be applied (the probes did not run).
        public var applyError: String?
        /// Why the faults could not all be cleared.
        public var clearError: String?
        public var report: Document

        public init(name: String, faults: [String], applyError: String? = nil, clearError: String? = nil, report: Document) {
            self.name = name
            self.faults = faults
            self.applyError = applyError
            self.clearError = clearError
            self.report = report
        }
    }

    /// `document` (the lab's own probes, as `assemble` writes it) with a `scenarios` array:
    /// each scenario's fields, then its own report (`report` sorts after every other key, as
    /// `scenarios` does after `probes`, so the keys stay sorted).
    public static func withScenarios(_ document: String, _ scenarios: [(name: String, faults: [String], applyError: String?,
                                                                          clearError: String?, report: String)]) -> String {
        guard !scenarios.isEmpty, let close = document.range(of: "}", options: .backwards) else { return document }
        var head = String(document[..<close.lowerBound])
        while head.last == "\n" || head.last == " " { head.removeLast() }
        var out = head + ",\n  \"scenarios\" : [\n"
        for (index, scenario) in scenarios.enumerated() {
            let fields = ScenarioFields(name: scenario.name, faults: scenario.faults, applyError: scenario.applyError,
                                        clearError: scenario.clearError)
            var text = (try? encoder.encode(fields)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            text.removeLast()  // "}"
            while text.last == "\n" || text.last == " " { text.removeLast() }
            var report = scenario.report
            while report.last == "\n" { report.removeLast() }
            text += ",\n  \"report\" : " + report.replacingOccurrences(of: "\n", with: "\n  ") + "\n}"
            out += "    " + text.replacingOccurrences(of: "\n", with: "\n    ") + (index == scenarios.count - 1 ? "\n" : ",\n")
        }
        return out + "  ]\n}\n"
    }

    private struct ScenarioFields: Encodable {
        var name: String
        var faults: [String]
        var applyError: String?
        var clearError: String?
    }

    /// The document, pretty-printed, ending in a newline.
    public static func render(_ results: [ProbeResult]) -> String {
        let passed = results.filter(\.passed).count
        return assemble(passed: passed, failed: results.count - passed, notRun: nil, probes: results.map(fragment))
    }

    /// One probe's object as it appears in the document's `probes` array (indented to its
    /// place, no trailing comma or newline): what a streaming run keeps of a finished probe
    /// when JSON is asked for, instead of the result itself.
    public static func fragment(_ result: ProbeResult) -> [UInt8] {
        guard let data = try? encoder.encode(result) else { return Array("    {}".utf8) }
        var out: [UInt8] = [0x20, 0x20, 0x20, 0x20]
        out.reserveCapacity(data.count + data.count / 8)
        for byte in data {
            out.append(byte)
            if byte == 0x0a { out += [0x20, 0x20, 0x20, 0x20] }
        }
        return out
    }

    /// The document from counts and `fragment`s, byte for byte what encoding the whole
    /// `Document` gives.
    public static func assemble(passed: Int, failed: Int, notRun: Int?, probes: [[UInt8]]) -> String {
        var out: [UInt8] = []
        assemble(passed: passed, failed: failed, notRun: notRun, count: probes.count, probe: { probes[$0] }) { out += $0 }
        return String(decoding: out, as: UTF8.self)
    }

    /// The same, written piece by piece to `write`: `probe(i)` gives the i-th fragment, so the
    /// fragments need not all be in memory at once.
    public static func assemble(passed: Int, failed: Int, notRun: Int?, count: Int, probe: (Int) -> [UInt8],
                                write: ([UInt8]) -> Void) {
        guard count > 0 else {
            // Encoding plain structs of strings and numbers cannot fail; `try!` would say the
            // same less kindly.
            var document = Document([], notRun: notRun)
            (document.passed, document.failed) = (passed, failed)
            guard let data = try? encoder.encode(document) else { return write(Array("{}\n".utf8)) }
            return write(Array(data) + [0x0a])
        }
        var head = Array("{\n  \"failed\" : \(failed),\n".utf8)
        if let notRun { head += Array("  \"notRun\" : \(notRun),\n".utf8) }
        head += Array("  \"passed\" : \(passed),\n  \"probes\" : [\n".utf8)
        write(head)
        for index in 0..<count {
            write(probe(index) + Array((index == count - 1 ? "\n" : ",\n").utf8))
        }
        write(Array("  ]\n}\n".utf8))
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Reads a document back (what a CI step consuming `--output json` does).
    public static func decode(_ text: String) throws -> Document {
        try JSONDecoder().decode(Document.self, from: Data(text.utf8))
    }
}
