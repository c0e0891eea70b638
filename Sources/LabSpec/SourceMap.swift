/// Where a value of the lab file was written: 1-based line and column, as editors count.
public struct SourcePosition: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public var description: String { "\(line):\(column)" }
}

/// Positions of every decoded value by its path (`pods[2].node`, `cluster.podCIDR`,
/// `pods[0].labels.app`). Later stages report errors by path and look the position up here, so
/// only the decoder ever sees YAML nodes.
public struct SourceMap: Sendable {
    public var file: String
    public private(set) var positions: [String: SourcePosition] = [:]
    /// Where the KEY of a mapping entry was written (`cluster.mtu` → the `mtu:` token), for
    /// messages about the key itself rather than its value. `positions` holds the value's place.
    public private(set) var keyPositions: [String: SourcePosition] = [:]

    public init(file: String) { self.file = file }

    public mutating func record(_ path: String, _ position: SourcePosition) {
        if positions[path] == nil { positions[path] = position }
    }

    public mutating func recordKey(_ path: String, _ position: SourcePosition) {
        if keyPositions[path] == nil { keyPositions[path] = position }
    }

    /// The position of the key that introduced `path`, else the value's position (list
    /// elements and the root have no key).
    public func keyPosition(of path: String) -> SourcePosition {
        keyPositions[path] ?? position(of: path)
    }

    /// The position of `path`, or of its nearest recorded ancestor (`pods[2].ip` falls back to
    /// `pods[2]`, then `pods`), or 1:1 when nothing is known.
    public func position(of path: String) -> SourcePosition {
        var candidate = Substring(path)
        while true {
            if let position = positions[String(candidate)] { return position }
            guard let cut = candidate.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            candidate = candidate[..<cut]
        }
        return SourcePosition(line: 1, column: 1)
    }

    public func error(_ path: String, _ message: String) -> LabFileError {
        LabFileError(file: file, position: position(of: path), path: path, message: message)
    }
}
