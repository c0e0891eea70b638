/// A jump from a built-in chain into kube-proxy's chains (`iptablesJumpChains`). kube-proxy
/// installs these with `EnsureRule(Prepend, …)` rather than in the restore input, because a
/// restore would have to own — and so flush — all of PREROUTING, INPUT, and the rest.
public struct IPTablesHookRule: Sendable, Hashable {
    public var table: String
    public var chain: String
    /// The rule's arguments after the chain, unquoted (ready for `exec`).
    public var arguments: [String]

    init(table: String, chain: String, target: String, comment: String?, newConnectionsOnly: Bool) {
        self.table = table
        self.chain = chain
        var arguments = newConnectionsOnly ? ["-m", "conntrack", "--ctstate", "NEW"] : []
        if let comment { arguments += ["-m", "comment", "--comment", comment] }
        self.arguments = arguments + ["-j", target]
    }

    /// `iptables -t <table> -C <chain> …`: exits 0 when the rule is already there.
    /// Equivalent to the check half of kube-proxy's `EnsureRule`.
    public var checkArguments: [String] { ["-t", table, "-C", chain] + arguments }

    /// `iptables -t <table> -I <chain> …`: puts the rule first, as `EnsureRule(Prepend)` does.
    public var insertArguments: [String] { ["-t", table, "-I", chain] + arguments }

    /// The rule as an `iptables-restore` line (`-A <chain> …`), comments quoted.
    public var restoreLine: String {
        (["-A", chain] + arguments.map(IPTablesTableText.quoted)).joined(separator: " ")
    }
}
