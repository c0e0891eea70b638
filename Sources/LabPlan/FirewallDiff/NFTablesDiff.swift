/// The `nft -f` input that turns one loaded `ip kube-proxy` table into another in one
/// transaction, as kube-proxy's nftables partial sync does: new chains, sets and maps are
/// added; a chain whose rules changed is flushed and refilled; a set or map whose elements
/// changed is flushed and refilled; what is gone is flushed, then deleted. Untouched chains
/// keep their rules (and rule handles). A change to the declaration of something that stays
/// (a hook, a set's type or timeout) falls back to loading the whole table anew.
///
/// A node's input may hold several tables (kube-proxy's, and NetworkPolicy's beside it): each is
/// diffed on its own, and all go in the one transaction.
enum NFTablesDiff {
    static func change(from old: String, to new: String) -> String {
        let before = tables(old), after = tables(new)
        let previous = Dictionary(before, uniquingKeysWith: { first, _ in first })
        let next = Dictionary(after, uniquingKeysWith: { first, _ in first })
        return after.map { changeTable(from: previous[$0.key] ?? "", to: $0.text) }.joined()
            + before.filter { next[$0.key] == nil }.map { changeTable(from: $0.text, to: "") }.joined()
    }

    /// The input's lines grouped by table (`ip kube-proxy`), tables in order of appearance.
    static func tables(_ text: String) -> [(key: String, text: String)] {
        var order: [String] = [], lines: [String: [String]] = [:]
        for line in text.byteLines() {
            let words = line.split(separator: " ", maxSplits: 4)
            let key = words.count >= 4 ? "\(words[2]) \(words[3])" : ""
            if lines[key] == nil { order.append(key) }
            lines[key, default: []].append(String(line))
        }
        return order.map { ($0, lines[$0]!.joined(separator: "\n") + "\n") }
    }

    /// One table's change.
    static func changeTable(from old: String, to new: String) -> String {
        let before = Table(old), after = Table(new)
        guard !after.isEmpty else { return before.isEmpty ? "" : "delete table \(before.family) \(before.name)\n" }
        guard !before.isEmpty else { return new }
        let redeclared = after.objects.contains { name, object in
            before.objects[name].map { $0.declaration != object.declaration } ?? false
        }
        if redeclared { return new }

        let table = "\(after.family) \(after.name)"
        var lines: [String] = []
        let added = after.order.filter { before.objects[$0] == nil }
        let gone = before.order.filter { after.objects[$0] == nil }
        // 1. New chains, sets and maps first: rules and elements may refer to them.
        for name in added { lines.append(after.objects[name]!.declaration) }
        // 2. Chains and sets whose contents changed (or are new): flushed and refilled.
        for name in after.order {
            let object = after.objects[name]!
            let previous = before.objects[name]
            guard previous?.contents != object.contents else { continue }
            if previous != nil { lines.append("flush \(object.kind) \(table) \(name)") }
            lines += object.contents
        }
        // 3. What is gone: emptied first (so nothing refers to it any more), then deleted.
        for name in gone where before.objects[name]!.kind == "chain" { lines.append("flush chain \(table) \(name)") }
        for name in gone where before.objects[name]!.kind != "chain" { lines.append("delete \(before.objects[name]!.kind) \(table) \(name)") }
        for name in gone where before.objects[name]!.kind == "chain" { lines.append("delete chain \(table) \(name)") }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }

    /// A chain, set or map: its `add` line, then its rules or elements (`add rule` /
    /// `add element` lines) in order.
    struct Object: Equatable {
        var kind: String
        var declaration: String
        var contents: [String] = []
    }

    /// One table as our renderer writes it: flat `add …` commands, one per line.
    struct Table {
        var family = "ip"
        var name = "kube-proxy"
        var order: [String] = []
        var objects: [String: Object] = [:]
        var isEmpty: Bool { objects.isEmpty }

        init(_ text: String) {
            for line in text.byteLines().map(String.init) {
                let words = line.split(separator: " ", maxSplits: 5).map(String.init)
                guard words.count >= 5, words[0] == "add" else { continue }
                family = words[2]
                name = words[3]
                let object = words[4]
                switch words[1] {
                case "chain", "set", "map":
                    if objects[object] == nil { order.append(object) }
                    objects[object] = Object(kind: words[1], declaration: line, contents: objects[object]?.contents ?? [])
                case "rule", "element":
                    objects[object, default: Object(kind: words[1] == "rule" ? "chain" : "set", declaration: "")].contents.append(line)
                default:
                    continue
                }
            }
        }
    }
}
