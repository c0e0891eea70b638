/// The `ipset restore` inputs that turn one node's loaded sets into another's, each set
/// changed atomically: a set whose members changed is rebuilt under a temporary name and
/// swapped in (`swap`), so a rule matching it never sees it half-filled — kube-router's way.
/// Destroying the sets that are gone is a separate input, loaded after the rules that matched
/// them are gone (the kernel refuses to destroy a set in use).
enum IPSetDiff {
    static func change(from old: String, to new: String) -> String {
        change(from: Sets(old), to: Sets(new))
    }

    static func destroyGone(from old: String, to new: String) -> String {
        destroyGone(from: Sets(old), to: Sets(new))
    }

    /// `change` and `destroyGone` of the same two inputs, each read once.
    static func changeAndGone(from old: String, to new: String) -> (change: String, gone: String) {
        let before = Sets(old), after = Sets(new)
        return (change(from: before, to: after), destroyGone(from: before, to: after))
    }

    private static func change(from before: Sets, to after: Sets) -> String {
        var lines: [String] = []
        for name in after.order {
            guard let set = after.byName[name], before.byName[name] != set else { continue }
            if before.byName[name] == nil {
                lines.append(set.create)
                lines += set.members.map { "add \(name) \($0)" }
            } else {
                let temporary = temporaryName(name)
                lines.append(set.create.replacingFirst(name, with: temporary))
                lines += set.members.map { "add \(temporary) \($0)" }
                lines += ["swap \(temporary) \(name)", "destroy \(temporary)"]
            }
        }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }

    private static func destroyGone(from before: Sets, to after: Sets) -> String {
        let gone = before.order.filter { after.byName[$0] == nil }
        return gone.isEmpty ? "" : gone.map { "destroy \($0)" }.joined(separator: "\n") + "\n"
    }

    /// At most 31 characters, like every set name.
    static func temporaryName(_ name: String) -> String { "TMP-" + name.suffix(27) }

    struct Set: Equatable {
        var create: String
        var members: [String]
    }

    /// The sets of an input `IPSetScript` wrote, by name, in order.
    struct Sets {
        var order: [String] = []
        var byName: [String: Set] = [:]

        init(_ text: String) {
            for line in text.byteLines().map(String.init) {
                let words = line.split(separator: " ", maxSplits: 2).map(String.init)
                guard words.count >= 2 else { continue }
                if words[0] == "create" {
                    order.append(words[1])
                    byName[words[1]] = Set(create: line, members: [])
                } else if words[0] == "add", words.count == 3 {
                    byName[words[1]]?.members.append(words[2])
                }
            }
        }
    }
}

private extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
