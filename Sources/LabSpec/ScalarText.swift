/// Text as an array of Unicode scalars with the start of every line, addressed the way libyaml
/// reports positions (1-based line, column counted in scalars). Used to look at the raw text
/// where the YAML tree cannot help: finding a repeated key Yams refused to compose.
struct ScalarText {
    private(set) var scalars: [Unicode.Scalar]
    /// Offset of the first scalar of each line.
    let lineStarts: [Int]

    init(_ text: String) {
        scalars = Array(text.unicodeScalars)
        var starts = [0]
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            // libyaml breaks lines at LF, CR LF and a lone CR.
            if scalar == "\n" || (scalar == "\r" && (index + 1 == scalars.count || scalars[index + 1] != "\n")) {
                starts.append(index + 1)
            }
            index += 1
        }
        lineStarts = starts
    }

    var text: String {
        var result = String.UnicodeScalarView()
        result.append(contentsOf: scalars)
        return String(result)
    }

    /// The offset of a 1-based line and column, if that place exists.
    func offset(line: Int, column: Int) -> Int? {
        guard line >= 1, line <= lineStarts.count, column >= 1 else { return nil }
        let offset = lineStarts[line - 1] + column - 1
        return offset <= lineEnd(line) ? offset : nil
    }

    /// The offset just past the last scalar of `line` (before its line break).
    func lineEnd(_ line: Int) -> Int {
        var end = line < lineStarts.count ? lineStarts[line] : scalars.count
        while end > lineStarts[line - 1], scalars[end - 1] == "\n" || scalars[end - 1] == "\r" { end -= 1 }
        return end
    }

    func position(of offset: Int) -> SourcePosition {
        // The last line starting at or before `offset`.
        var low = 0, high = lineStarts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        return SourcePosition(line: low + 1, column: offset - lineStarts[low] + 1)
    }

    subscript(offset: Int) -> Unicode.Scalar? {
        offset >= 0 && offset < scalars.count ? scalars[offset] : nil
    }

    mutating func replace(at offset: Int, with replacement: [Unicode.Scalar]) {
        scalars.replaceSubrange(offset..<(offset + replacement.count), with: replacement)
    }
}
