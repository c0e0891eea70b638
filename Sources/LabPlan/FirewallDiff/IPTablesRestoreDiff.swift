/// The `iptables-restore --noflush` input that turns one loaded ruleset into another, as
/// kube-proxy's partial sync writes it: a declared chain (`:CHAIN - [0:0]`) is flushed and
/// refilled, an undeclared one is left alone with its counters. So the input declares only the
/// user chains whose rules changed (and writes their rules), flushes then deletes (`-X`) the
/// chains that are gone, and edits the built-in chains' hook rules one by one (`-D`/`-A`),
/// since declaring a built-in chain would not flush it.
enum IPTablesRestoreDiff {
    static func change(from old: String, to new: String) -> String {
        let before = Ruleset(old), after = Ruleset(new)
        var text = ""
        for table in after.tableOrder + before.tableOrder.filter({ !after.tableOrder.contains($0) }) {
            let was = before.tables[table] ?? Table(), now = after.tables[table] ?? Table()
            let wasDeclared = Set(was.declared), nowDeclared = Set(now.declared)
            let rewritten = now.declared.filter { !wasDeclared.contains($0) || was.rules[$0] != now.rules[$0] }
            let gone = was.declared.filter { !nowDeclared.contains($0) }
            var hookLines: [String] = []
            for chain in was.builtinOrder + now.builtinOrder.filter({ !was.builtinOrder.contains($0) }) {
                let oldRules = was.rules[chain] ?? [], newRules = now.rules[chain] ?? []
                hookLines += oldRules.filter { !newRules.contains($0) }.map { "-D \(chain) \($0)" }
                hookLines += additions(to: chain, from: oldRules, to: newRules)
            }
            guard !rewritten.isEmpty || !gone.isEmpty || !hookLines.isEmpty else { continue }
            var lines = ["*\(table)"]
            lines += (rewritten + gone).map { ":\($0) - [0:0]" }
            for chain in rewritten { lines += (now.rules[chain] ?? []).map { "-A \(chain) \($0)" } }
            lines += hookLines
            lines += gone.map { "-X \($0)" }
            lines.append("COMMIT")
            text += lines.joined(separator: "\n") + "\n"
        }
        return text
    }

    /// The hook rules `new` adds to a built-in chain, each where `new` has it: appended when it
    /// comes after every rule already there, else inserted at its position (`-I CHAIN n`), so
    /// a jump that must come first — NetworkPolicy's — is first after a change too.
    static func additions(to chain: String, from old: [String], to new: [String]) -> [String] {
        var lines: [String] = []
        var present = new.filter { old.contains($0) }.count
        for (index, rule) in new.enumerated() where !old.contains(rule) {
            lines.append(index >= present ? "-A \(chain) \(rule)" : "-I \(chain) \(index + 1) \(rule)")
            present += 1
        }
        return lines
    }

    /// One table of an `iptables-restore` input: declared (user) chains in order, rules by
    /// chain (the text after `-A CHAIN `), and the built-in chains that have rules.
    struct Table {
        var declared: [String] = []
        var builtinOrder: [String] = []
        var rules: [String: [String]] = [:]
    }

    struct Ruleset {
        var tableOrder: [String] = []
        var tables: [String: Table] = [:]

        init(_ text: String) {
            var current: String?
            // By table: a node's thousand chains made `declared.contains` most of the time.
            var declared: [String: Set<String>] = [:]
            for line in text.byteLines().map(String.init) {
                if line.hasPrefix("*") {
                    let name = String(line.dropFirst())
                    current = name
                    if tables[name] == nil { tables[name] = Table(); tableOrder.append(name) }
                } else if let table = current, line.hasPrefix(":") {
                    let chain = String(line.dropFirst().split(separator: " ")[0])
                    tables[table]?.declared.append(chain)
                    declared[table, default: []].insert(chain)
                } else if let table = current, line.hasPrefix("-A ") {
                    let rest = line.dropFirst(3)
                    let chain = String(rest.prefix { $0 != " " })
                    let rule = String(rest.dropFirst(chain.count + 1))
                    if tables[table]?.rules[chain] == nil, declared[table]?.contains(chain) != true {
                        tables[table]?.builtinOrder.append(chain)
                    }
                    tables[table]?.rules[chain, default: []].append(rule)
                }
            }
            // A chain declared after its first rule (kube-proxy's two buffers) is not built in.
            for name in tableOrder {
                guard var table = tables[name] else { continue }
                let chains = declared[name] ?? []
                table.builtinOrder.removeAll { chains.contains($0) }
                tables[name] = table
            }
        }
    }
}
