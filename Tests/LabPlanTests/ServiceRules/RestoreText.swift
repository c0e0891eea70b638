/// A small reader of `iptables-restore` input, for structural checks: tests must see the text
/// the way iptables-restore will, not trust the renderer's own bookkeeping.
struct RestoreText {
    struct Table {
        var name: String
        var chains: [String] = []
        var rules: [(chain: String, arguments: [String])] = []
        var committed = false

        /// `-j` targets of every rule.
        var targets: [String] { rules.compactMap { rule in rule.arguments.firstIndex(of: "-j").map { rule.arguments[$0 + 1] } } }
        func rules(in chain: String) -> [[String]] { rules.filter { $0.chain == chain }.map(\.arguments) }
    }

    var tables: [Table] = []
    var problems: [String] = []

    init(_ text: String) {
        if !text.hasSuffix("COMMIT\n") { problems.append("input does not end with COMMIT and a newline") }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) where !line.isEmpty {
            if line.hasPrefix("*") {
                if let last = tables.last, !last.committed { problems.append("*\(last.name) has no COMMIT") }
                tables.append(Table(name: String(line.dropFirst())))
            } else if line == "COMMIT" {
                if tables.isEmpty || tables[tables.count - 1].committed { problems.append("COMMIT outside a table") } else { tables[tables.count - 1].committed = true }
            } else if line.hasPrefix(":") {
                let parts = line.dropFirst().split(separator: " ").map(String.init)
                if parts.count != 3 || parts[1] != "-" || parts[2] != "[0:0]" { problems.append("odd chain line: \(line)") }
                if tables.isEmpty { problems.append("chain line outside a table: \(line)") } else { tables[tables.count - 1].chains.append(parts[0]) }
            } else {
                let words = RestoreText.split(line)
                guard words.count >= 2, words[0] == "-A", !tables.isEmpty else { problems.append("not an -A rule: \(line)"); continue }
                tables[tables.count - 1].rules.append((words[1], Array(words.dropFirst(2))))
            }
        }
        if let last = tables.last, !last.committed { problems.append("*\(last.name) has no COMMIT") }
    }

    func table(_ name: String) -> Table? { tables.first { $0.name == name } }

    /// Words as iptables-restore splits them: on blanks, except inside double quotes.
    static func split(_ line: String) -> [String] {
        var words: [String] = []
        var current = ""
        var quoted = false
        var inWord = false
        for character in line {
            if character == "\"" { quoted.toggle(); inWord = true; continue }
            if character == " " && !quoted {
                if inWord { words.append(current); current = ""; inWord = false }
                continue
            }
            current.append(character)
            inWord = true
        }
        if inWord { words.append(current) }
        return words
    }
}
