/// A lab file cut into its top-level sections without composing YAML: each section is a key
/// written at column 1 (`pods:`) with every line up to the next such key (its value, comments
/// and blank lines). What `lab up` compares to tell a change of `networkPolicies` alone from any
/// other change, in a fraction of a millisecond instead of a parse of the whole file.
///
/// Only the plain block layout is cut: a line at column 1 that is not a comment must be a plain
/// word followed by `:` and written once. Anything else at the top level — a flow mapping, a
/// document marker, a quoted or repeated key, a continuation of a value at column 1 — gives nil,
/// and the caller parses the whole file. A section's text is compared byte for byte; when only
/// one section differs, its value is that section's alone as long as it also parses alone
/// (`LabFileLoader.parsePolicies`), which is checked before it is trusted.
public struct LabFileSections: Sendable, Equatable {
    public struct Section: Sendable, Equatable {
        public var key: String
        /// The section's lines, each with its line break.
        public var text: Substring
        /// The 1-based line of the key.
        public var line: Int
    }

    /// Comments and blank lines before the first key.
    public var preamble: Substring
    public var sections: [Section]

    public init?(_ text: String) {
        var preambleEnd: String.Index?
        var found: [(key: String, start: String.Index, line: Int)] = []
        var seen = Set<String>()
        var lineNumber = 0
        var index = text.startIndex
        let utf8 = text.utf8
        while index < text.endIndex {
            lineNumber += 1
            let lineEnd = utf8[index...].firstIndex(of: UInt8(ascii: "\n")).map { utf8.index(after: $0) } ?? text.endIndex
            let first = utf8[index]
            if first != UInt8(ascii: " "), first != UInt8(ascii: "#"), first != UInt8(ascii: "\n"), first != UInt8(ascii: "\r") {
                guard let key = Self.plainKey(utf8[index..<lineEnd]), seen.insert(key).inserted else { return nil }
                if found.isEmpty { preambleEnd = index }
                found.append((key, index, lineNumber))
            }
            index = lineEnd
        }
        preamble = text[text.startIndex..<(preambleEnd ?? text.endIndex)]
        sections = found.indices.map { position in
            let end = position + 1 < found.count ? found[position + 1].start : text.endIndex
            return Section(key: found[position].key, text: text[found[position].start..<end], line: found[position].line)
        }
    }

    /// `word:` followed by a blank or the end of the line; nil for any other first line.
    private static func plainKey(_ line: Substring.UTF8View) -> String? {
        var index = line.startIndex
        guard index < line.endIndex, Self.isLetter(line[index]) else { return nil }
        while index < line.endIndex, Self.isLetter(line[index]) || (line[index] >= UInt8(ascii: "0") && line[index] <= UInt8(ascii: "9")) {
            index = line.index(after: index)
        }
        guard index < line.endIndex, line[index] == UInt8(ascii: ":") else { return nil }
        let key = String(Substring(line[line.startIndex..<index]))
        index = line.index(after: index)
        guard index == line.endIndex || [UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(line[index]) else { return nil }
        return key
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    public func section(_ key: String) -> Section? { sections.first { $0.key == key } }

    /// The keys whose sections differ between `old` and `self`; nil when the two files do not
    /// have the same keys in the same order, or their preambles differ.
    public func changedKeys(from old: LabFileSections) -> Set<String>? {
        // Bytes, not strings: strings compare by canonical equivalence, and two spellings of
        // one character need not be the same YAML.
        guard preamble.utf8.elementsEqual(old.preamble.utf8), sections.map(\.key) == old.sections.map(\.key) else { return nil }
        return Set(zip(sections, old.sections).filter { !$0.text.utf8.elementsEqual($1.text.utf8) }.map(\.0.key))
    }
}

extension LabFileSections {
    /// Whether a full parse of the same text found exactly these sections: its top-level keys
    /// (`sourceMap`) are the sections' keys, each at column 1 of the section's first line. Then
    /// no section's value runs into another's (a flow collection or quoted text continued at
    /// column 1 would have made a key line of what YAML reads as a value), and a later change
    /// of one section is that section's alone.
    public func agrees(with sourceMap: SourceMap) -> Bool {
        let keys = Set(sourceMap.keyPositions.keys.filter { !$0.contains(".") && !$0.contains("[") })
        guard keys == Set(sections.map(\.key)) else { return false }
        return sections.allSatisfy { sourceMap.keyPositions[$0.key] == SourcePosition(line: $0.line, column: 1) }
    }
}
