import Foundation

/// `lab verify --output json`: the counts and one object per probe with everything it
/// observed, for tools rather than people. Keys sorted and numbers rounded to the
/// microsecond, so the same results always give the same bytes.
public enum ProbeJSONReport {
    public struct Document: Sendable, Hashable, Codable {
        public var passed: Int
        public var failed: Int
        public var probes: [ProbeResult]

        public init(_ results: [ProbeResult]) {
            passed = results.filter(\.passed).count
            failed = results.count - passed
            probes = results
        }
    }

    /// The document, pretty-printed, ending in a newline.
    public static func render(_ results: [ProbeResult]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of strings and numbers cannot fail; `try!` would say the same
        // less kindly.
        guard let data = try? encoder.encode(Document(results)) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Reads a document back (what a CI step consuming `--output json` does).
    public static func decode(_ text: String) throws -> Document {
        try JSONDecoder().decode(Document.self, from: Data(text.utf8))
    }
}
