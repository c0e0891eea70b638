/// Parsers for what the tools list about a live namespace, pure so they are tested on text:
/// `nft -a list ruleset` (rule handles in chain order) and `iptables-save` (the same rules in
/// iptables' words).
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

    /// `iptables-save`'s rules (or `iptables-restore` input, the same lines): table → chain →
    /// `-A …` lines, in order.
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
