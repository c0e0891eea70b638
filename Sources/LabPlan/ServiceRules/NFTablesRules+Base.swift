import LabAddress
import LabSpec

extension NFTablesRules {
    /// Where kube-proxy's base chains sit: filtering before DNAT (−110) so it sees the service
    /// address, then DNAT (−100), filtering at 0, and masquerading at SNAT time (100).
    static let baseChains: [(name: String, type: String, hook: String, priority: Int)] = [
        ("filter-prerouting-pre-dnat", "filter", "prerouting", -110),
        ("filter-output-pre-dnat", "filter", "output", -110),
        ("filter-input", "filter", "input", 0),
        ("filter-forward", "filter", "forward", 0),
        ("filter-output", "filter", "output", 0),
        ("nat-prerouting", "nat", "prerouting", -100),
        ("nat-output", "nat", "output", -100),
        ("nat-postrouting", "nat", "postrouting", 100),
    ]

    /// `nftablesJumpChains`: (regular chain, base chain jumping to it, condition). The
    /// endpoint checks hang off input/forward/output because `reject` is only valid there on
    /// kernels before 5.9.
    static let jumps: [(chain: String, from: String, condition: String?)] = [
        ("nodeport-endpoints-check", "filter-input", "ct state new"),
        ("service-endpoints-check", "filter-input", "ct state new"),
        ("service-endpoints-check", "filter-forward", "ct state new"),
        ("service-endpoints-check", "filter-output", "ct state new"),
        ("firewall-check", "filter-prerouting-pre-dnat", "ct state new"),
        ("firewall-check", "filter-output-pre-dnat", "ct state new"),
        ("services", "nat-output", nil),
        ("services", "nat-prerouting", nil),
        ("masquerading", "nat-postrouting", nil),
        ("cluster-ips-check", "filter-forward", "ct state new"),
        ("cluster-ips-check", "filter-output", "ct state new"),
    ]

    /// `setupNFTables`: everything that does not depend on the services. The table is new, so
    /// kube-proxy's flushes of existing chains, sets and maps are left out.
    static func writeBase(_ script: inout NFTablesScript, node: NodeTopology, serviceCIDR: IPv4Network) {
        let mark = masqueradeMark
        for chain in baseChains {
            script.addBaseChain(chain.name, type: chain.type, hook: chain.hook, priority: chain.priority)
        }
        var created: Set<String> = []
        for jump in jumps {
            if created.insert(jump.chain).inserted { script.addChain(jump.chain) }
            script.addRule(jump.from, (jump.condition.map { "\($0) " } ?? "") + "jump \(jump.chain)")
        }
        script.addChain("mark-for-masquerade")

        // Masquerade marked packets once (the mark is cleared), with random source ports.
        script.addRule("mark-for-masquerade", "mark set mark or \(mark)")
        script.addRule("masquerading", "mark and \(mark) == 0 return")
        script.addRule("masquerading", "mark set mark xor \(mark)")
        script.addRule("masquerading", "masquerade fully-random")

        // A ClusterIP answers only on its service ports; the rest of the service range is
        // dropped, so a typo'd address fails fast instead of leaking to the default route.
        script.addSet("cluster-ips", "type ipv4_addr ; comment \"Active ClusterIPs\"")
        script.addRule("cluster-ips-check", "ip daddr @cluster-ips reject", comment: "Reject traffic to invalid ports of ClusterIPs")
        script.addRule("cluster-ips-check", "ip daddr { \(serviceCIDR) } drop", comment: "Drop traffic to unallocated ClusterIPs")

        // NodePorts answer on the node's own address.
        script.addSet("nodeport-ips", "type ipv4_addr ; comment \"IPs that accept NodePort traffic\"")
        script.addElement("nodeport-ips", key: "\(node.ip)")

        // Services without (local) endpoints: reject or drop before any DNAT is attempted.
        script.addMap("no-endpoint-services", type: "ipv4_addr . inet_proto . inet_service : verdict",
                      comment: "vmap to drop or reject packets to services with no endpoints")
        script.addMap("no-endpoint-nodeports", type: "inet_proto . inet_service : verdict",
                      comment: "vmap to drop or reject packets to service nodeports with no endpoints")
        script.addChain("reject-chain", "comment \"helper for @no-endpoint-services / @no-endpoint-nodeports\"")
        script.addRule("reject-chain", "reject")
        script.addRule("service-endpoints-check", "ip daddr . meta l4proto . th dport vmap @no-endpoint-services")
        script.addRule("nodeport-endpoints-check", "ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports")

        // loadBalancerSourceRanges: always empty in a lab, kept so the layout is kube-proxy's.
        script.addMap("firewall-ips", type: "ipv4_addr . inet_proto . inet_service : verdict",
                      comment: "destinations that are subject to LoadBalancerSourceRanges")
        script.addRule("firewall-check", "ip daddr . meta l4proto . th dport vmap @firewall-ips")

        // Dispatch: one map lookup per packet instead of a walk over every service.
        script.addMap("service-ips", type: "ipv4_addr . inet_proto . inet_service : verdict",
                      comment: "ClusterIP, ExternalIP and LoadBalancer IP traffic")
        script.addMap("service-nodeports", type: "inet_proto . inet_service : verdict", comment: "NodePort traffic")
        script.addRule("services", "ip daddr . meta l4proto . th dport vmap @service-ips")
        script.addRule("services", "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports")
    }
}
