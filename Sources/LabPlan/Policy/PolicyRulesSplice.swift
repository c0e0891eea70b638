/// A node's whole firewall rules with their NetworkPolicy part replaced, without rendering the
/// rest (kube-proxy's service rules, the loss rules) again, nor the old policy part: what a
/// change of policies alone needs, since nothing else of a node's rules depends on the policies.
///
/// Where the renderers put the policy part, which is all this relies on:
/// - iptables (`IPTablesRules.renderWithPolicies`): in the `*filter` table, the first of the
///   input, the policy chains are declared after every other chain (`KUBE-ROUTER-INPUT`
///   first), the hooks into them start the rules (`NetworkPolicyIPTables.hookLines`), and their
///   rules come after kube-proxy's and before the rules of the built-in chains (the hooks,
///   written last). The sets are the node's whole `ipset` input.
/// - nftables: the policy table's commands follow kube-proxy's table's, to the end of the input,
///   starting with `add table ip kube-router-filter-ipv4`.
///
/// The old part is found by that shape alone, whatever it holds: the saved rules are what the
/// node's kernel was last given (`lab up` removes the applied file before it loads anything,
/// so a load that did not finish sends the next change down the whole path). A text of any
/// other shape gives nil, and the caller renders the node's rules whole.
enum PolicyRulesSplice {
    /// The policy part of one node's filter table: its chains, the hooks and the rules.
    struct IPTablesPart: Equatable {
        var chains: [String] = []
        var rules: [String] = []

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

    private static let policyChainPrefixBytes = policyChainPrefixes.map { Array($0.utf8) }

    /// Byte by byte: `hasPrefix` compares characters, which cost more than the rest of a
    /// splice over a node's rules.
    static func isPolicyChain<S: StringProtocol>(_ chain: S) -> Bool {
        policyChainPrefixBytes.contains { chain.utf8.starts(with: $0) }
    }

    /// `whole` (an `iptables-restore` input as `IPTablesRules` renders it) with its policy part
    /// replaced by `new`; nil when `whole` does not have the renderer's shape. Only the filter
    /// table is cut into lines: the tables after it (kube-proxy's `*nat`, most of a node's
    /// rules) are kept as they are.
    static func iptables(_ whole: String, with new: IPTablesPart) -> String? {
        let bytes = whole.utf8, header = "*filter\n".utf8
        guard bytes.starts(with: header), bytes.last == UInt8(ascii: "\n") else { return nil }
        // The header's line break may be the one before `COMMIT`: an empty table.
        let bodyStart = bytes.index(bytes.startIndex, offsetBy: header.count)
        guard let end = ByteSearch.firstIndex(of: Array("\nCOMMIT\n".utf8), in: bytes[bytes.index(before: bodyStart)...]) else { return nil }
        let filterEnd = bytes.index(after: end)
        let body = end < bodyStart ? [] : whole[bodyStart..<end].byteLines(omittingEmpty: false)
        let firstRule = body.firstIndex { $0.utf8.first != UInt8(ascii: ":") } ?? body.endIndex
        guard body[firstRule...].allSatisfy({ $0.utf8.starts(with: "-A ".utf8) }) else { return nil }
        var chains = body[..<firstRule].map { $0.dropFirst().prefix { $0 != " " } }
        var rules = Array(body[firstRule...])

        // 1. The old part out: its chains at the end of the declarations, its hooks first, its
        //    rules in one run.
        let oldChains = chains.drop { !isPolicyChain($0) }
        guard oldChains.allSatisfy(isPolicyChain) else { return nil }
        chains.removeLast(oldChains.count)
        let hooks = oldChains.isEmpty ? [] : NetworkPolicyIPTables.hookLines
        guard rules.starts(with: hooks, by: { $0 == $1 }) else { return nil }
        rules.removeFirst(hooks.count)
        let start = rules.firstIndex { isPolicyChain(chain(of: $0)) } ?? insertionPoint(rules, declared: Set(chains))
        let runEnd = rules[start...].firstIndex { !isPolicyChain(chain(of: $0)) } ?? rules.endIndex
        rules.removeSubrange(start..<runEnd)
        guard !rules.contains(where: { isPolicyChain(chain(of: $0)) }), !chains.contains(where: isPolicyChain),
              start == insertionPoint(rules, declared: Set(chains)) else { return nil }

        // 2. The new part in, where the renderer writes it.
        rules.insert(contentsOf: new.rules.map { Substring($0) }, at: start)
        if !new.isEmpty { rules.insert(contentsOf: NetworkPolicyIPTables.hookLines.map { Substring($0) }, at: 0) }
        let declarations = (chains.map(String.init) + new.chains).map { Substring(":\($0) - [0:0]") }
        let lines = declarations + rules
        return "*filter\n" + lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n") + whole[filterEnd...]
    }

    /// Where the policy rules go: before the first rule of a chain the table does not declare
    /// (a built-in chain's hook), or at the end.
    private static func insertionPoint(_ rules: [Substring], declared: Set<Substring>) -> Int {
        rules.firstIndex { !declared.contains(chain(of: $0)) } ?? rules.count
    }

    /// `CHAIN` of `-A CHAIN …`.
    private static func chain(of rule: Substring) -> Substring {
        let bytes = rule.utf8.dropFirst(3)
        return Substring(bytes.prefix { $0 != UInt8(ascii: " ") })
    }

    /// `whole` (an `nft -f` input as the renderers write it) with the policy table's commands,
    /// if any, replaced by `new` (nil: none); nil when anything of the policy table's comes
    /// before them.
    static func nftables(_ whole: String, with new: String?) -> String? {
        let opening = Array("add table ip \(NetworkPolicyNFTables.table)\n".utf8)
        let bytes = whole.utf8
        var rest = Substring(whole)
        if bytes.starts(with: opening) {
            rest = ""
        } else if let found = ByteSearch.firstIndex(of: [UInt8(ascii: "\n")] + opening, in: Substring(whole).utf8) {
            rest = whole[..<bytes.index(after: found)]
        }
        // kube-proxy's table alone is left: nothing of the policy table's may remain.
        guard ByteSearch.firstIndex(of: Array(" ip \(NetworkPolicyNFTables.table)".utf8), in: rest.utf8) == nil else { return nil }
        return String(rest) + (new ?? "")
    }
}
