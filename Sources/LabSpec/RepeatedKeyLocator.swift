/// Finds the second writing of a mapping key in the raw text.
///
/// Yams refuses a mapping with a repeated key and only says where the FIRST writing is, so on
/// its own one repeated key would hide every other problem of the file. Knowing the key and
/// its first place, we look for the repeat the way YAML lays mappings out: in block style at
/// the same column further down (before the mapping's indentation ends); in flow style after a
/// comma at the same bracket depth.
enum RepeatedKeyLocator {
    /// Where the repeat is: `token` is where its key starts (an opening quote, if quoted; what
    /// Yams reports as the key's position), `text` where the key's characters start. Nil when
    /// the layout is too unusual to be sure; the caller then reports the first writing only.
    static func repeatOffset(of key: String, firstAt position: SourcePosition, in text: ScalarText) -> (token: Int, text: Int)? {
        let key = Array(key.unicodeScalars)
        guard !key.isEmpty, let first = text.offset(line: position.line, column: position.column),
              let firstKey = match(key, at: first, in: text) else { return nil }
        let lineStart = text.lineStarts[position.line - 1]
        let isBlock = (lineStart..<first).allSatisfy { [" ", "\t", "-", "?"].contains(text[$0]) }
        return isBlock
            ? blockRepeat(of: key, column: position.column, afterLine: position.line, in: text)
            : flowRepeat(of: key, after: firstKey.end, in: text)
    }

    /// Where `key` is written at `offset` as a mapping key (plain or quoted, followed by
    /// optional spaces and a colon): the key text's range.
    static func match(_ key: [Unicode.Scalar], at offset: Int, in text: ScalarText) -> (token: Int, start: Int, end: Int)? {
        var start = offset
        var quote: Unicode.Scalar?
        if let first = text[offset], first == "\"" || first == "'" {
            quote = first
            start += 1
        }
        for (index, scalar) in key.enumerated() where text[start + index] != scalar { return nil }
        var cursor = start + key.count
        let end = cursor
        if let quote {
            guard text[cursor] == quote else { return nil }
            cursor += 1
        }
        while text[cursor] == " " || text[cursor] == "\t" { cursor += 1 }
        return text[cursor] == ":" ? (offset, start, end) : nil
    }

    private static func blockRepeat(of key: [Unicode.Scalar], column: Int, afterLine line: Int, in text: ScalarText) -> (token: Int, text: Int)? {
        var current = line + 1
        while current <= text.lineStarts.count {
            let start = text.lineStarts[current - 1], end = text.lineEnd(current)
            var first = start
            while first < end, text[first] == " " { first += 1 }
            defer { current += 1 }
            if first == end || text[first] == "#" { continue }
            let indent = first - start + 1
            if indent < column { return nil }   // the mapping has ended
            if indent == column, let found = match(key, at: first, in: text) { return (found.token, found.start) }
        }
        return nil
    }

    private static func flowRepeat(of key: [Unicode.Scalar], after offset: Int, in text: ScalarText) -> (token: Int, text: Int)? {
        var depth = 0
        var cursor = offset
        var previous: Unicode.Scalar = ":"
        while let scalar = text[cursor] {
            let opensQuote = (scalar == "\"" || scalar == "'") && ["{", "[", ",", ":", "?"].contains(previous)
            switch scalar {
            case _ where opensQuote:
                cursor = endOfQuoted(startingAt: cursor, in: text)
            case "#" where cursor > 0 && [" ", "\t", "\n", "\r"].contains(text[cursor - 1]):
                while let next = text[cursor], next != "\n", next != "\r" { cursor += 1 }
                continue
            case "{", "[":
                depth += 1
            case "}", "]":
                if depth == 0 { return nil }   // the mapping has ended
                depth -= 1
            case "," where depth == 0:
                var next = cursor + 1
                while let blank = text[next], [" ", "\t", "\n", "\r"].contains(blank) { next += 1 }
                if let found = match(key, at: next, in: text) { return (found.token, found.start) }
            default:
                break
            }
            if ![" ", "\t", "\n", "\r"].contains(scalar) { previous = scalar }
            cursor += 1
        }
        return nil
    }

    /// The offset of the closing quote of the quoted scalar opening at `offset`.
    private static func endOfQuoted(startingAt offset: Int, in text: ScalarText) -> Int {
        guard let quote = text[offset] else { return offset }
        var cursor = offset + 1
        while let scalar = text[cursor] {
            if quote == "\"" && scalar == "\\" {
                cursor += 2
                continue
            }
            if scalar == quote {
                // Inside single quotes, '' is an escaped quote.
                if quote == "'" && text[cursor + 1] == "'" {
                    cursor += 2
                    continue
                }
                return cursor
            }
            cursor += 1
        }
        return cursor
    }
}
