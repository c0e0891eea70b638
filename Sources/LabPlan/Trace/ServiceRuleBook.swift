import LabSpec

/// The service rules `lab` renders for one node, indexed by chain, so the model walk can quote
/// the rule a packet matches in the words the node's own listing uses. Built from the same
/// renderers `lab up` loads, so the quoted rule is the loaded one.
struct ServiceRuleBook {
    let proxy: ProxyMode
    /// iptables: table → chain → restore lines (`-A CHAIN …`), in order.
    private var iptables: [String: [String: [String]]] = [:]
    /// nftables: chain → rule bodies (what follows `add rule ip kube-proxy CHAIN`), in order.
    private var nft: [String: [String]] = [:]
    /// nftables: kube-router's NetworkPolicy table, chain → rule bodies, in order.
    private var nftPolicy: [String: [String]] = [:]
    let hasRules: Bool

    init(node: NodeTopology, shared: SharedNodeRules) {
        let topology = shared.topology
        proxy = topology.proxy
        hasRules = topology.services.contains { $0.clusterIP != nil }
        // NetworkPolicy chains share kube-proxy's filter table (iptables mode only), so a lab
        // with policies and no service still has rules to quote.
        guard hasRules || topology.policy != nil else { return }
        switch proxy {
        case .iptables:
            let text = IPTablesRules.renderWithPolicies(node: node, options: IPTablesRules.Options(hooksInBuffer: true), shared: shared).rules
            iptables = TraceListings.iptablesRules(text)
        case .nftables:
            nft = Self.nftRules(NFTablesRules.render(node: node, shared: shared), table: NFTablesChainNames.table)
            let policyText = shared.policyLayout(of: node).map { NetworkPolicyNFTables.render($0, topology: topology) } ?? ""
            nftPolicy = Self.nftRules(policyText, table: NetworkPolicyNFTables.table)
        }
    }

    /// An `nft -f` script's rules of one table: chain → rule bodies (what follows
    /// `add rule ip TABLE CHAIN`), in order.
    private static func nftRules(_ script: String, table: String) -> [String: [String]] {
        let prefix = "add rule ip \(table) "
        var rules: [String: [String]] = [:]
        for line in script.split(separator: "\n") where line.hasPrefix(prefix) {
            let rest = line.dropFirst(prefix.count)
            let chain = String(rest.prefix { $0 != " " })
            rules[chain, default: []].append(String(rest.dropFirst(chain.count + 1)))
        }
        return rules
    }

    /// The first iptables rule of `table`/`chain` whose restore line contains every fragment.
    func iptablesRule(_ table: String, _ chain: String, containing fragments: [String]) -> String? {
        iptables[table]?[chain]?.first { line in fragments.allSatisfy { line.contains($0) } }
            .map(SavedRuleText.iptablesSave)
    }

    /// Every restore line of an iptables chain, in order (`-A CHAIN …`).
    func iptablesLines(_ table: String, _ chain: String) -> [String] {
        iptables[table]?[chain] ?? []
    }

    /// Every rule body of a chain of kube-router's nftables table, in order.
    func nftPolicyLines(_ chain: String) -> [String] {
        nftPolicy[chain] ?? []
    }

    /// The first rule of kube-router's nftables `chain` whose body contains every fragment, as
    /// `nft list` prints it (a mark's `or`/`and` as `|`/`&`, anonymous sets sorted).
    func nftPolicyRule(_ chain: String, containing fragments: [String]) -> String? {
        nftPolicy[chain]?.first { body in fragments.allSatisfy { body.contains($0) } }.map(Self.nftListedPolicyRule)
    }

    static func nftListedPolicyRule(_ body: String) -> String {
        var text = SavedRuleText.nftList(body)
        // nft lists an anonymous set's elements by value; the table's one such set, the ICMP
        // types KUBE-NWPLCY-COMMON accepts (3, 8, 11), sorts the same by name.
        if let open = text.firstRange(of: "{ "), let close = text.firstRange(of: " }"), open.upperBound < close.lowerBound {
            let elements = text[open.upperBound..<close.lowerBound].split(separator: ",").map { $0.trimmingBlanks() }.sorted()
            text.replaceSubrange(open.upperBound..<close.lowerBound, with: elements.joined(separator: ", "))
        }
        return text
    }

    /// The first nft rule of `chain` whose body contains every fragment, as `nft list` prints it.
    func nftRule(_ chain: String, containing fragments: [String]) -> String? {
        nft[chain]?.first { body in fragments.allSatisfy { body.contains($0) } }.map(SavedRuleText.nftList)
    }
}
