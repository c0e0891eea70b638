/// Parsers for what the tools list about a live namespace, pure so they are tested on text:
/// `nft -a list ruleset` (rule handles in chain order), `iptables-save` (the same rules in
/// iptables' words) and `conntrack -L` (one flow per line).
public enum TraceListings {
    /// A rule of a live ruleset: where it is, its position in its chain, and its text.
    public struct ListedRule: Sendable, Hashable {
        public var family: String
        public var table: String
        public var chain: String
        public var handle: UInt64
        public var index: Int
        public var text: String
    }

    /// Every rule with its handle, from `nft -a list ruleset`.
    public static func nftRules(_ listing: String) -> [ListedRule] {
        var rules: [ListedRule] = []
        var family = ""
        var table = ""
        var chain = ""
        var index = 0
        for raw in listing.split(separator: "\n") {
            let line = raw.trimmingBlanks()
            if line.hasPrefix("table ") {
                let parts = line.split(separator: " ")
                if parts.count >= 3 { (family, table) = (String(parts[1]), String(parts[2])) }
            } else if line.hasPrefix("chain ") {
                chain = String(line.split(separator: " ")[1])
                index = 0
            } else if let range = line.firstRange(of: " # handle "), !line.hasPrefix("type "), !line.hasPrefix("set "), !line.hasPrefix("map ") {
                guard let handle = UInt64(line[range.upperBound...]) else { continue }
                let text = String(line[..<range.lowerBound]).trimmingBlanks()
                rules.append(ListedRule(family: family, table: table, chain: chain, handle: handle, index: index, text: text))
                index += 1
            }
        }
        return rules
    }

    /// `iptables-save`'s rules: table → chain → `-A …` lines, in order.
    public static func iptablesRules(_ save: String) -> [String: [String: [String]]] {
        var result: [String: [String: [String]]] = [:]
        var table = ""
        for line in save.split(separator: "\n") {
            if line.hasPrefix("*") { table = String(line.dropFirst()); continue }
            guard line.hasPrefix("-A ") else { continue }
            let chain = String(line.dropFirst(3).prefix { $0 != " " })
            result[table, default: [:]][chain, default: []].append(String(line))
        }
        return result
    }

    /// One line of `conntrack -L`.
    public struct ConntrackLine: Sendable, Hashable {
        public var `protocol`: String
        public var state: String?
        public var original: [String: String]
        public var reply: [String: String]
        public var flags: [String]

        public func tuple(_ fields: [String: String]) -> String {
            var parts = ["src=\(fields["src"] ?? "?")", "dst=\(fields["dst"] ?? "?")"]
            for key in ["sport", "dport", "type", "code", "id"] { if let value = fields[key] { parts.append("\(key)=\(value)") } }
            return parts.joined(separator: " ")
        }

        /// The endpoint the reply comes from when it is not the original destination: the DNAT.
        public var dnatTo: String? {
            guard let replySource = reply["src"], replySource != original["dst"] else { return nil }
            return reply["sport"].map { "\(replySource):\($0)" } ?? replySource
        }
    }

    public static func conntrack(_ listing: String) -> [ConntrackLine] {
        var lines: [ConntrackLine] = []
        for raw in listing.split(separator: "\n") {
            let tokens = raw.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard tokens.count > 4, ["tcp", "udp", "icmp"].contains(tokens[0]) else { continue }
            var entry = ConntrackLine(protocol: tokens[0], state: nil, original: [:], reply: [:], flags: [])
            var sourcesSeen = 0
            for token in tokens.dropFirst(3) {
                if token.hasPrefix("[") { entry.flags.append(String(token.dropFirst().dropLast())); continue }
                guard let equals = token.firstIndex(of: "=") else {
                    if sourcesSeen == 0, token.uppercased() == token { entry.state = token }
                    continue
                }
                let key = String(token[..<equals])
                let value = String(token[token.index(after: equals)...])
                if key == "src" { sourcesSeen += 1 }
                guard ["src", "dst", "sport", "dport", "type", "code", "id"].contains(key) else { continue }
                if sourcesSeen <= 1 { entry.original[key] = value } else { entry.reply[key] = value }
            }
            lines.append(entry)
        }
        return lines
    }
}

extension StringProtocol {
    /// Without leading and trailing blanks and tabs (LabPlan does without Foundation).
    func trimmingBlanks() -> String {
        let characters = Array(self)
        var start = 0
        var end = characters.count
        while start < end, characters[start] == " " || characters[start] == "\t" { start += 1 }
        while end > start, characters[end - 1] == " " || characters[end - 1] == "\t" { end -= 1 }
        return String(characters[start..<end])
    }
}
