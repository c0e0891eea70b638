/// An `ipset restore` input: `create` lines then `add` lines, in the order written. Sets are
/// created with `-exist`'s meaning (the loader runs `ipset -exist restore`), so loading the
/// same input twice changes nothing.
struct IPSetScript: Equatable {
    enum Kind: String {
        /// Single addresses: pods.
        case ip = "hash:ip"
        /// Blocks, with `nomatch` entries for an `ipBlock`'s `except`.
        case net = "hash:net"
    }

    struct Set: Equatable {
        var name: String
        var kind: Kind
        /// `10.244.1.5`, `192.168.0.0/16`, `192.168.1.0/24 nomatch`.
        var members: [String]
    }

    private(set) var sets: [Set] = []

    mutating func add(_ set: Set) { sets.append(set) }

    var names: [String] { sets.map(\.name) }

    /// A full load: each set created and filled.
    var text: String {
        var lines: [String] = []
        for set in sets {
            lines.append("create \(set.name) \(set.kind.rawValue) family inet hashsize 1024 maxelem 65536")
            lines += set.members.map { "add \(set.name) \($0)" }
        }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }
}
