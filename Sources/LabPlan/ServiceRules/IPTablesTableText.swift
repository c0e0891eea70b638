/// One table's part of an `iptables-restore` input, built the way kube-proxy builds it: chain
/// lines and rules in two buffers, so a chain can be declared after a rule for it was written
/// and still precede every rule in the output (iptables-restore needs the declaration first).
struct IPTablesTableText {
    let table: String
    private(set) var chains: [String] = []
    private(set) var rules: [String] = []

    init(table: String) { self.table = table }

    /// `:CHAIN - [0:0]`: under `--noflush` this creates the chain, or flushes it if it exists,
    /// so the rules that follow replace the chain's old contents in the same transaction.
    mutating func declare(_ chain: String) {
        chains.append(chain)
    }

    mutating func append(_ chain: String, _ arguments: [String]) {
        rules.append((["-A", chain] + arguments.map(IPTablesTableText.quoted)).joined(separator: " "))
    }

    mutating func append(_ chain: String, _ arguments: String...) {
        append(chain, arguments)
    }

    /// Another part's chains and rules after this one's, as if they had been written here.
    mutating func append(contentsOf other: IPTablesTableText) {
        chains += other.chains
        rules += other.rules
    }

    /// A rule before every rule written so far: for a jump that must come first in a built-in
    /// chain (under `--noflush` the restore appends in input order).
    mutating func prepend(_ chain: String, _ arguments: [String]) {
        rules.insert((["-A", chain] + arguments.map(IPTablesTableText.quoted)).joined(separator: " "), at: 0)
    }

    /// Whole rule lines (`-A CHAIN …`) before every rule written so far, in their order.
    mutating func prepend(lines: [String]) {
        rules.insert(contentsOf: lines, at: 0)
    }

    var text: String {
        (["*\(table)"] + chains.map { ":\($0) - [0:0]" } + rules + ["COMMIT"]).joined(separator: "\n") + "\n"
    }

    /// iptables-restore splits on blanks unless quoted; kube-proxy quotes exactly the comments
    /// that contain spaces (`"ns1/svc1:p80 cluster IP"`) and leaves `ns1/svc1:p80` bare.
    static func quoted(_ argument: String) -> String {
        // Byte by byte: `contains(" ")` goes through Foundation's string search, which was a
        // third of planning a 1,000-pod lab.
        argument.utf8.contains(UInt8(ascii: " ")) ? "\"\(argument)\"" : argument
    }
}
