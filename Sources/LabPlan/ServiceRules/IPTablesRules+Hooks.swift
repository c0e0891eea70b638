extension IPTablesRules {
    /// The jumps from the built-in chains, in the order kube-proxy ensures them
    /// (`iptablesJumpChains`, then kubelet's KUBE-FIREWALL jumps when that chain is in use).
    /// Install each with `iptables -C` then, if missing, `iptables -I` (`checkArguments`,
    /// `insertArguments`): idempotent, and it never disturbs other rules in those chains.
    public static func hookRules(options: Options = Options()) -> [IPTablesHookRule] {
        let names = IPTablesChainNames.self
        let portals = "kubernetes service portals"
        let firewall = "kubernetes load balancer firewall"
        var hooks = [
            IPTablesHookRule(table: "filter", chain: "INPUT", target: names.externalServices,
                             comment: "kubernetes externally-visible service portals", newConnectionsOnly: true),
            IPTablesHookRule(table: "filter", chain: "FORWARD", target: names.externalServices,
                             comment: "kubernetes externally-visible service portals", newConnectionsOnly: true),
            IPTablesHookRule(table: "filter", chain: "INPUT", target: names.nodePorts,
                             comment: "kubernetes health check service ports", newConnectionsOnly: false),
            IPTablesHookRule(table: "filter", chain: "FORWARD", target: names.services, comment: portals, newConnectionsOnly: true),
            IPTablesHookRule(table: "filter", chain: "OUTPUT", target: names.services, comment: portals, newConnectionsOnly: true),
            IPTablesHookRule(table: "filter", chain: "FORWARD", target: names.forward,
                             comment: "kubernetes forwarding rules", newConnectionsOnly: false),
            IPTablesHookRule(table: "filter", chain: "INPUT", target: names.proxyFirewall, comment: firewall, newConnectionsOnly: true),
            IPTablesHookRule(table: "filter", chain: "OUTPUT", target: names.proxyFirewall, comment: firewall, newConnectionsOnly: true),
            IPTablesHookRule(table: "filter", chain: "FORWARD", target: names.proxyFirewall, comment: firewall, newConnectionsOnly: true),
            IPTablesHookRule(table: "nat", chain: "OUTPUT", target: names.services, comment: portals, newConnectionsOnly: false),
            IPTablesHookRule(table: "nat", chain: "PREROUTING", target: names.services, comment: portals, newConnectionsOnly: false),
            IPTablesHookRule(table: "nat", chain: "POSTROUTING", target: names.postrouting,
                             comment: "kubernetes postrouting rules", newConnectionsOnly: false),
        ]
        // kubelet owns KUBE-FIREWALL on a real node; `lab` has no kubelet, so it jumps there
        // only when the rendered rules fill that chain.
        if options.localhostNodePorts {
            hooks.append(IPTablesHookRule(table: "filter", chain: "INPUT", target: names.kubeletFirewall, comment: nil, newConnectionsOnly: false))
            hooks.append(IPTablesHookRule(table: "filter", chain: "OUTPUT", target: names.kubeletFirewall, comment: nil, newConnectionsOnly: false))
        }
        return hooks
    }
}
