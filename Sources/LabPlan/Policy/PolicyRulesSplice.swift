/// A node's whole firewall rules with their NetworkPolicy part replaced, without rendering the
/// rest (kube-proxy's service rules, the loss rules) again: what a change of policies alone
/// needs, since nothing else of a node's rules depends on the policies.
///
/// Where the renderers put the policy part, which is all this relies on:
/// - iptables (`IPTablesRules.renderWithPolicies`): in the `*filter` table, the first of the
///   input, the policy chains are declared after every other chain (`KUBE-ROUTER-INPUT`
///   first), the hooks into them start the rules (`NetworkPolicyIPTables.hookLines`), and their
///   rules come after kube-proxy's and before the rules of the built-in chains (the hooks,
///   written last). The sets are the node's whole `ipset` input.
/// - nftables: the policy table's commands follow kube-proxy's table's, to the end of the input.
///
/// Each splice first takes the old policy part out and checks that it is exactly `old` (the
/// rendering of the policies before the change): a text of any other shape gives nil, and the
/// caller renders the node's rules whole.
enum PolicyRulesSplice {
    /// The policy part of one node's filter table: its chains, the hooks and the rules.
    struct IPTablesPart: Equatable {
        var chains: [String] = []
        var rules: [String] = []

        init() {}

        init(_ layout: PolicyLayout?, topology: Topology) {
            guard let layout else { return }
            var filter = IPTablesTableText(table: "filter")
            _ = NetworkPolicyIPTables.write(layout, topology: topology, into: &filter)
            chains = filter.chains
            rules = filter.rules
        }

        var isEmpty: Bool { chains.isEmpty && rules.isEmpty }
    }

    static let policyChainPrefixes = ["KUBE-ROUTER-", "KUBE-NWPLCY-", "KUBE-POD-FW-"]

    static func isPolicyChain<S: StringProtocol>(_ chain: S) -> Bool {
        policyChainPrefixes.contains { chain.hasPrefix($0) }
    }

    /// `whole` (an `iptables-restore` input as `IPTablesRules` renders it) with the policy part
    /// `old` replaced by `new`; nil when `whole` does not hold `old` where the renderer puts it.
    static func iptables(_ whole: String, replacing old: IPTablesPart, with new: IPTablesPart) -> String? {
        var lines = whole.byteLines(omittingEmpty: false)
        guard lines.last == "", lines.first == "*filter", let commit = lines.firstIndex(of: "COMMIT") else { return nil }
        let body = lines[1..<commit]
        let firstRule = body.firstIndex { !$0.hasPrefix(":") } ?? body.endIndex
        guard body[firstRule...].allSatisfy({ $0.hasPrefix("-A ") }) else { return nil }
        var chains = body[..<firstRule].map { $0.dropFirst().prefix { $0 != " " } }
        var rules = Array(body[firstRule...])

        // 1. The old part out: its chains at the end of the declarations, its hooks first, its
        //    rules in one run.
        let oldChains = chains.drop { !isPolicyChain($0) }
        guard oldChains.elementsEqual(old.chains, by: { $0 == $1 }) else { return nil }
        chains.removeLast(oldChains.count)
        let hooks = old.isEmpty ? [] : NetworkPolicyIPTables.hookLines
        guard rules.starts(with: hooks, by: { $0 == $1 }) else { return nil }
        rules.removeFirst(hooks.count)
        let policyRules = old.rules
        let start = rules.firstIndex { isPolicyChain(chain(of: $0)) } ?? insertionPoint(rules, declared: Set(chains))
        guard start + policyRules.count <= rules.count,
              rules[start..<(start + policyRules.count)].elementsEqual(policyRules, by: { $0 == $1 }) else { return nil }
        rules.removeSubrange(start..<(start + policyRules.count))
        guard !rules.contains(where: { isPolicyChain(chain(of: $0)) }), !chains.contains(where: isPolicyChain),
              start == insertionPoint(rules, declared: Set(chains)) else { return nil }

        // 2. The new part in, where the renderer writes it.
        rules.insert(contentsOf: new.rules.map { Substring($0) }, at: start)
        if !new.isEmpty { rules.insert(contentsOf: NetworkPolicyIPTables.hookLines.map { Substring($0) }, at: 0) }
        let declarations = (chains.map(String.init) + new.chains).map { Substring(":\($0) - [0:0]") }
        lines.replaceSubrange(1..<commit, with: declarations + rules)
        return lines.joined(separator: "\n")
    }

    /// Where the policy rules go: before the first rule of a chain the table does not declare
    /// (a built-in chain's hook), or at the end.
    private static func insertionPoint(_ rules: [Substring], declared: Set<Substring>) -> Int {
        rules.firstIndex { !declared.contains(chain(of: $0)) } ?? rules.count
    }

    /// `CHAIN` of `-A CHAIN …`.
    private static func chain(of rule: Substring) -> Substring {
        rule.dropFirst(3).prefix { $0 != " " }
    }

    /// `whole` (an `nft -f` input as the renderers write it) with the policy table's commands
    /// `old` (nil: none) replaced by `new`; nil when `whole` does not end with `old`.
    static func nftables(_ whole: String, replacing old: String?, with new: String?) -> String? {
        let old = old ?? ""
        guard whole.hasSuffix(old) else { return nil }
        let rest = whole.dropLast(old.count)
        // kube-proxy's table alone is left: nothing of the policy table's may remain.
        guard !contains(rest.utf8, Array(" ip \(NetworkPolicyNFTables.table)".utf8)) else { return nil }
        return String(rest) + (new ?? "")
    }

    /// Byte by byte: Foundation's string search is slow on a node's whole rules.
    private static func contains(_ text: Substring.UTF8View, _ pattern: [UInt8]) -> Bool {
        guard let first = pattern.first else { return true }
        var index = text.startIndex
        while let found = text[index...].firstIndex(of: first) {
            if text[found...].starts(with: pattern) { return true }
            index = text.index(after: found)
        }
        return false
    }
}
