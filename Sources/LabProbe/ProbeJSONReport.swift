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

        public init(_ results: [ProbeResult], notRun: Int? = nil) {
            passed = results.filter(\.passed).count
            failed = results.count - passed
            self.notRun = notRun
            probes = results
        }
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
            guard let data = try? encoder.encode(Document([], notRun: notRun)) else { return write(Array("{}\n".utf8)) }
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
