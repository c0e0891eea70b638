/// A top-level section that is a block list — its key alone on the first line, then items that
/// each start with `- ` at one indentation — cut into its items' texts by their lines alone, so
/// the items of a changed file can be matched, byte for byte, with those of the file applied
/// before (`LabFileLoader.parsePolicies`). nil for any other shape: a value on the key's line
/// (a flow list), a tab in an indentation, a line less indented than the items, or one as
/// indented that does not start an item, and any line break YAML knows but this cut does not
/// (a `\r` alone, NEL, U+2028, U+2029).
///
/// The cut is not trusted alone: a parse of the section confirms that the list has as many
/// items as the cut, each starting on its item's lines.
struct SectionItems {
    /// The key's line and the blank and comment lines before the first item.
    var head: Substring
    /// Each item's lines (each with its line break), with the blank and comment lines after it.
    var items: [Substring]
    /// Per item: its first line, counted from the key's line (0).
    var lineOffsets: [Int]
    /// The items' indentation, in spaces.
    var indentation: Int

    init?(_ text: Substring) {
        let bytes = text.utf8
        guard !Self.hasOtherLineBreaks(bytes) else { return nil }
        var index = bytes.startIndex
        var lineNumber = 0
        var head: Substring?
        var starts: [(index: String.Index, line: Int)] = []
        var indentation = -1
        while index < bytes.endIndex {
            let lineEnd = bytes[index...].firstIndex(of: UInt8(ascii: "\n")).map { bytes.index(after: $0) } ?? bytes.endIndex
            let line = bytes[index..<lineEnd]
            defer { index = lineEnd; lineNumber += 1 }
            let spaces = line.prefix { $0 == UInt8(ascii: " ") }.count
            let rest = line.dropFirst(spaces)
            if lineNumber == 0 {
                // `key:`, then nothing but blanks or a comment.
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
                let value = line[bytes.index(after: colon)...].drop { $0 == UInt8(ascii: " ") }
                guard value.isEmpty || Self.isLineEnd(value.first) || value.first == UInt8(ascii: "#") else { return nil }
                continue
            }
            if rest.first == UInt8(ascii: "\t") { return nil }
            if rest.isEmpty || Self.isLineEnd(rest.first) || rest.first == UInt8(ascii: "#") { continue }
            let startsItem = rest.first == UInt8(ascii: "-") && (rest.count == 1 || rest.dropFirst().first == UInt8(ascii: " ")
                                                                  || Self.isLineEnd(rest.dropFirst().first))
            if starts.isEmpty {
                guard startsItem else { return nil }
                indentation = spaces
                head = text[text.startIndex..<index]
            }
            guard spaces >= indentation else { return nil }
            if spaces == indentation {
                guard startsItem else { return nil }
                starts.append((index, lineNumber))
            }
        }
        guard let head else { return nil }
        self.head = head
        self.indentation = indentation
        items = starts.indices.map { position in
            text[starts[position].index..<(position + 1 < starts.count ? starts[position + 1].index : text.endIndex)]
        }
        lineOffsets = starts.map(\.line)
    }

    /// With `\n` the only line break, every element of the list starts a line with `- ` at the
    /// items' indentation, so it starts a cut item: a parse with as many elements as items
    /// agrees with the cut (an item start inside a quoted text makes one item too many).
    private static func hasOtherLineBreaks(_ bytes: Substring.UTF8View) -> Bool {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index], next = bytes.index(after: index)
            let following = next < bytes.endIndex ? bytes[next] : nil
            if byte == UInt8(ascii: "\r"), following != UInt8(ascii: "\n") { return true }
            if byte == 0xC2, following == 0x85 { return true }
            if byte == 0xE2, following == 0x80, bytes.index(after: next) < bytes.endIndex,
               [0xA8, 0xA9].contains(bytes[bytes.index(after: next)]) { return true }
            index = next
        }
        return false
    }

    private static func isLineEnd(_ byte: UInt8?) -> Bool {
        byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
    }

    /// The section with the items at `replaced` written as `- {}` followed by as many blank
    /// lines as they had lines: every other item keeps its lines, and its place in the list.
    func text(replacing replaced: Set<Int>) -> String {
        var text = String(head)
        let blank = String(repeating: " ", count: indentation) + "- {}"
        for (index, item) in items.enumerated() {
            if replaced.contains(index) {
                let breaks = item.utf8.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
                text += blank + String(repeating: "\n", count: breaks)
            } else {
                text += item
            }
        }
        return text
    }
}
