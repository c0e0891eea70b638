import LabSpec

/// kube-proxy's iptables datapath for one node, as the single `iptables-restore --noflush`
/// input its `syncProxyRules` writes on a full sync (`*filter … COMMIT` then `*nat … COMMIT`).
/// Pure: the loader runs it in the node's namespace; the same topology gives the same bytes.
///
/// `lab` plays kube-proxy with these settings: `--cluster-cidr` = `cluster.podCIDR` (so the
/// local-traffic detector is `-s`/`! -s <podCIDR>`), masquerade bit 14 (mark 0x4000),
/// `--masquerade-all=false`, NodePorts on every local address, no nfacct counters, no
/// LoadBalancer or external IPs, and internal traffic policy Cluster.
public enum IPTablesRules {
    public struct Options: Sendable, Hashable {
        /// NodePorts on 127.0.0.1 (kube-proxy's IPv4 default). Needs `route_localnet=1` in the
        /// node, which `lab` does not set, hence off: the NodePort jump then skips 127.0.0.0/8.
        public var localhostNodePorts: Bool
        /// `MASQUERADE --random-fully`, which kube-proxy adds whenever iptables supports it.
        public var randomFully: Bool
        /// With `nf_conntrack_tcp_be_liberal=1` kube-proxy leaves out its INVALID-drop rule.
        public var conntrackTCPLiberal: Bool
        /// Put the hook rules (`hookRules`) in the restore input too. Only for a namespace whose
        /// built-in chains are still empty: `--noflush` appends them again on every load.
        public var hooksInBuffer: Bool

        public init(localhostNodePorts: Bool = false, randomFully: Bool = true, conntrackTCPLiberal: Bool = false,
                    hooksInBuffer: Bool = false) {
            self.localhostNodePorts = localhostNodePorts
            self.randomFully = randomFully
            self.conntrackTCPLiberal = conntrackTCPLiberal
            self.hooksInBuffer = hooksInBuffer
        }
    }

    /// `1 << masqueradeBit` with the default bit 14, as kube-proxy's own tests print it.
    public static let masqueradeMark = "0x4000"

    public static func render(topology: Topology, node: NodeTopology, options: Options = Options()) -> String {
        renderWithPolicies(topology: topology, node: node, options: options).rules
    }

    /// The node's rules with its NetworkPolicy chains in the same filter table (one
    /// transaction), and the ipsets those chains match — to be loaded first; nil when no
    /// policy selects a pod of the node.
    public static func renderWithPolicies(topology: Topology, node: NodeTopology,
                                          options: Options = Options()) -> (rules: String, sets: String?) {
        renderWithPolicies(node: node, options: options, shared: SharedNodeRules(topology: topology))
    }

    /// As above, with what every node shares worked out once for all of them.
    static func renderWithPolicies(node: NodeTopology, options: Options,
                                   shared: SharedNodeRules) -> (rules: String, sets: String?) {
        let topology = shared.topology
        var filter = IPTablesTableText(table: "filter")
        var nat = IPTablesTableText(table: "nat")
        let names = IPTablesChainNames.self

        // 1. The top-level chains, rewritten on every sync.
        for chain in [names.services, names.externalServices, names.forward, names.nodePorts, names.proxyFirewall] {
            filter.declare(chain)
        }
        for chain in [names.services, names.nodePorts, names.postrouting, names.markMasquerade] {
            nat.declare(chain)
        }

        // 2. Masquerade whatever was marked, once: the mark is cleared so a packet that
        //    re-traverses the stack is not masqueraded twice.
        nat.append(names.postrouting, "-m", "mark", "!", "--mark", "\(masqueradeMark)/\(masqueradeMark)", "-j", "RETURN")
        nat.append(names.postrouting, "-j", "MARK", "--xor-mark", masqueradeMark)
        nat.append(names.postrouting, ["-m", "comment", "--comment", "kubernetes service traffic requiring SNAT", "-j", "MASQUERADE"]
            + (options.randomFully ? ["--random-fully"] : []))
        nat.append(names.markMasquerade, "-j", "MARK", "--or-mark", masqueradeMark)

        // 3. With route_localnet=1, martian 127/8 packets from outside must still be dropped.
        if options.localhostNodePorts {
            filter.declare(names.kubeletFirewall)
            filter.append(names.kubeletFirewall, "-m", "comment", "--comment", "block incoming localnet connections",
                          "-d", "127.0.0.0/8", "!", "-s", "127.0.0.0/8",
                          "-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "DROP")
        }

        // 4. Every service port.
        for port in shared.ports(on: node.name) {
            shared.writeIPTables(port, filter: &filter, nat: &nat)
        }

        // 5. NodePorts last: KUBE-NODEPORTS is a catch-all for local addresses, so a ClusterIP
        //    rule after it could never match.
        nat.append(names.services, ["-m", "comment", "--comment",
                                    "kubernetes service nodeports; NOTE: this must be the last rule in this chain",
                                    "-m", "addrtype", "--dst-type", "LOCAL"]
            + (options.localhostNodePorts ? [] : ["!", "-d", "127.0.0.0/8"]) + ["-j", names.nodePorts])

        // 6. Let marked (NodePort, possibly cross-node) traffic through a FORWARD policy of DROP.
        if !options.conntrackTCPLiberal {
            filter.append(names.forward, "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP")
        }
        filter.append(names.forward, "-m", "comment", "--comment", "kubernetes forwarding rules",
                      "-m", "mark", "--mark", "\(masqueradeMark)/\(masqueradeMark)", "-j", "ACCEPT")
        filter.append(names.forward, "-m", "comment", "--comment", "kubernetes forwarding conntrack rule",
                      "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT")

        // 7. NetworkPolicy's chains, in the filter table, when some policy selects a local pod.
        let sets = shared.policyLayout(of: node).map { NetworkPolicyIPTables.write($0, topology: topology, into: &filter) }

        // 8. Optionally the hooks, appended in reverse so that each built-in chain ends up in the
        //    order kube-proxy's successive prepends leave it in; NetworkPolicy's jumps first of
        //    all, as kube-router inserts them at position 1.
        if options.hooksInBuffer {
            for hook in hookRules(options: options).reversed() {
                if hook.table == "filter" { filter.append(hook.chain, hook.arguments) } else { nat.append(hook.chain, hook.arguments) }
            }
            if sets != nil { filter.prepend(lines: NetworkPolicyIPTables.hookLines) }
        }
        return (filter.text + nat.text, sets?.text)
    }
}
