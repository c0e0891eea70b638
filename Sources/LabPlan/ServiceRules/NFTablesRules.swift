import LabSpec

/// kube-proxy's nftables datapath for one node (`pkg/proxy/nftables`, the layout of its
/// `TestOverallNFTablesRules`): one `nft -f` transaction that replaces the `ip kube-proxy`
/// table. Dispatch is a verdict-map lookup (`service-ips`, `service-nodeports`) instead of
/// iptables' linear walk of KUBE-SERVICES, and load balancing is `numgen random mod N vmap`.
///
/// Same settings as `IPTablesRules`: cluster CIDR = `cluster.podCIDR`, mark 0x4000,
/// `--nodeport-addresses primary` (the nft default: NodePorts answer on the node's own IP),
/// ServiceCIDR = `cluster.serviceCIDR`. No iptables rules are needed in this mode.
public enum NFTablesRules {
    public static let masqueradeMark = IPTablesRules.masqueradeMark

    public static func render(topology: Topology, node: NodeTopology) -> String {
        render(node: node, shared: SharedNodeRules(topology: topology))
    }

    /// As above, with what every node shares worked out once for all of them.
    static func render(node: NodeTopology, shared: SharedNodeRules) -> String {
        let topology = shared.topology
        var script = NFTablesScript()
        // 1. Replace the table atomically: `add` first so `delete` cannot fail on a fresh
        //    node; nothing of an old sync survives, and nothing is missing in between.
        script.command("add table ip \(NFTablesChainNames.table)")
        script.command("delete table ip \(NFTablesChainNames.table)")
        script.command("add table ip \(NFTablesChainNames.table) { comment \"rules for kube-proxy\" ; }")
        writeBase(&script, node: node, serviceCIDR: topology.serviceCIDR)
        // 2. Every service port.
        for port in shared.ports(on: node.name) {
            writeServicePort(port, clusterCIDR: topology.podCIDR, script: &script)
        }
        return script.text
    }
}
