/// A problem with a lab file, located precisely enough for an editor to jump to it:
/// `lab.yaml:14:7: pods[2].node: unknown node "node-9" (nodes: node-1, node-2)`.
public struct LabFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var position: SourcePosition
    /// The path of the offending value; empty for errors about the whole file (syntax).
    public var path: String
    public var message: String
    public var severity: Severity = .error

    public enum Severity: String, Sendable, Hashable {
        case error
        case warning
    }

    public var description: String {
        let prefix = severity == .warning ? "warning: " : ""
        let location = "\(file):\(position.line):\(position.column)"
        return path.isEmpty ? "\(location): \(prefix)\(message)" : "\(location): \(prefix)\(path): \(message)"
    }
}

/// All errors found in one file, in file order. Thrown when there is at least one error;
/// warnings alone travel with the decoded file instead.
public struct LabFileErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [LabFileError]

    public init(_ errors: [LabFileError]) {
        self.errors = errors.sorted { ($0.position.line, $0.position.column) < ($1.position.line, $1.position.column) }
    }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
