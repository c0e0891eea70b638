import Testing
@testable import LabSpec

/// Helpers shared by the LabSpec tests: parse text, and get at the errors a file must produce.
enum Lab {
    /// The smallest valid lab; tests append sections to it.
    static let minimal = """
    name: demo
    nodes:
      - name: node-1

    """

    /// Parses text that must be valid; a thrown error fails the test with every message.
    static func load(_ text: String, file: String = "lab.yaml") throws -> LoadedLabFile {
        do {
            return try LabFileLoader.parse(text, file: file)
        } catch let errors as LabFileErrors {
            Issue.record("unexpected errors:\n\(errors)")
            throw errors
        }
    }

    /// The errors of text that must be invalid; an empty list (and a recorded issue) if it parsed.
    static func errors(_ text: String, file: String = "lab.yaml") -> [LabFileError] {
        do {
            _ = try LabFileLoader.parse(text, file: file)
            Issue.record("expected errors, but the file parsed")
            return []
        } catch let errors as LabFileErrors {
            return errors.errors
        } catch {
            Issue.record("unexpected error type: \(error)")
            return []
        }
    }

    /// The one error of text that must have exactly one.
    static func error(_ text: String, file: String = "lab.yaml") -> LabFileError? {
        let errors = errors(text, file: file)
        #expect(errors.count == 1, "expected one error, got:\n\(errors.map(\.description).joined(separator: "\n"))")
        return errors.first
    }
}

extension LabFileError {
    /// `3:7`, compared against expectations as one short string.
    var at: String { "\(position.line):\(position.column)" }
}

/// A small deterministic generator (SplitMix64), so a failing fuzz case reproduces.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
