import LabSpec

/// kube-router's NetworkPolicy layout in nftables (its `--use-nftables-for-netpol` variant),
/// for a node whose proxy is nftables: one `ip kube-router-filter-ipv4` table beside
/// kube-proxy's, written into the same `nft -f` input so both load in one transaction. The
/// same chains and marks as `NetworkPolicyIPTables`, from the same `PolicyLayout`; named sets
/// replace ipsets, and an `ipBlock`'s `except` is a second set the address must not be in.
enum NetworkPolicyNFTables {
    static let table = "kube-router-filter-ipv4"
    static let allowed = "0x00010000", passed = "0x00020000"

    /// The table's commands; nil when no policy selects a pod of `node`.
    static func render(topology: Topology, node: NodeTopology) -> String? {
        PolicyLayout.make(topology: topology, node: node).map { render($0, topology: topology) }
    }

    /// The table's commands for a node's `layout`.
    static func render(_ layout: PolicyLayout, topology: Topology) -> String {
        var script = NFTablesScript(table: table)
        let names = NetworkPolicyIPTables.self
        // 1. Replace the table whole, as kube-proxy's own: add, delete, add.
        script.command("add table ip \(table)")
        script.command("delete table ip \(table)")
        script.command("add table ip \(table) { comment \"rules for kube-router netpol\" ; }")

        // 2. Base chains, the shared chains, the sets.
        for (chain, hook) in [(names.input, "input"), (names.forward, "forward"), (names.output, "output")] {
            script.addBaseChain(chain, type: "filter", hook: hook, priority: 0)
        }
        for chain in [names.common, names.defaultChain, names.tail] { script.addChain(chain) }
        for pod in layout.pods { script.addChain(names.podChain(pod.pod)) }
        for (policy, _) in layout.policies {
            for direction in PolicyType.allCases where policy.isolates(direction) { script.addChain(names.policyChain(policy, direction)) }
        }
        for set in layout.sets { addSet(set, to: &script) }

        script.addRule(names.common, "ct state invalid drop", comment: "rule to drop invalid state for pod")
        script.addRule(names.common, "ct state established,related accept", comment: "rule for stateful firewall for pod")
        script.addRule(names.common, "icmp type { echo-request, destination-unreachable, time-exceeded } accept",
                       comment: "allow icmp echo requests and errors")
        script.addRule(names.defaultChain, "meta mark set meta mark or \(allowed)", comment: "rule to mark traffic matching a network policy")
        script.addRule(names.tail, "meta mark and \(passed) == \(passed) accept",
                       comment: "rule to explicitly ACCEPT traffic that comply to network policies")

        // 3. INPUT's exemptions, the jumps into each pod's chain, the tail.
        script.addRule(names.input, "ip daddr \(topology.serviceCIDR) return", comment: "allow traffic to primary cluster IP range")
        for proto in ["tcp", "udp"] {
            script.addRule(names.input, "fib daddr type local \(proto) dport 30000-32767 return",
                           comment: "allow LOCAL \(proto.uppercased()) traffic to node ports")
        }
        for pod in layout.pods {
            let chain = names.podChain(pod.pod), ip = pod.pod.ip.description
            script.addRule(names.input, "ip saddr \(ip) jump \(chain)")
            for base in [names.forward, names.output] {
                script.addRule(base, "ip daddr \(ip) jump \(chain)")
                script.addRule(base, "ip saddr \(ip) jump \(chain)")
            }
            writePodChain(pod, into: &script)
        }
        for base in [names.input, names.forward, names.output] { script.addRule(base, "jump \(names.tail)") }

        // 4. Each policy: one rule per allowed (peer, port) that marks and returns.
        for (policy, allows) in layout.policies {
            for allow in allows {
                script.addRule(names.policyChain(policy, allow.direction), match(allow) + "meta mark set meta mark or \(allowed) return",
                               comment: "\(allow.direction.rawValue.lowercased()) allowed by \(policy.namespace)/\(policy.name)")
            }
        }
        return script.text
    }

    private static func addSet(_ set: PolicyLayout.AddressSet, to script: inout NFTablesScript) {
        let flags = set.isBlock ? " ; flags interval" : ""
        script.addSet(set.name, "type ipv4_addr\(flags)")
        if !set.addresses.isEmpty { script.command("add element ip \(table) \(set.name) { \(set.addresses.joined(separator: ", ")) }") }
        if !set.except.isEmpty {
            script.addSet(set.name + "-X", "type ipv4_addr ; flags interval")
            script.command("add element ip \(table) \(set.name)-X { \(set.except.joined(separator: ", ")) }")
        }
    }

    /// `ip daddr @T ip saddr @P tcp dport 80 `: the sets (a block with its except set), then
    /// the protocol and ports.
    private static func match(_ allow: PolicyLayout.Allow) -> String {
        var text = ""
        for set in allow.sets {
            let field = set.side == .source ? "ip saddr" : "ip daddr"
            text += "\(field) @\(set.set) "
            if set.hasExcept { text += "\(field) != @\(set.set)-X " }
        }
        if let proto = allow.proto {
            text += allow.ports.map { "\(proto) dport \($0.replacingOccurrences(of: ":", with: "-")) " } ?? "meta l4proto \(proto) "
        }
        return text
    }

    private static func writePodChain(_ pod: PolicyLayout.PodChain, into script: inout NFTablesScript) {
        let names = NetworkPolicyIPTables.self
        let chain = names.podChain(pod.pod), ip = pod.pod.ip.description
        script.addRule(chain, "jump \(names.common)")
        script.addRule(chain, "ip saddr \(ip) ip daddr \(ip) accept", comment: "a pod's traffic to itself is not filtered")
        script.addRule(chain, "fib saddr type local ip daddr \(ip) accept",
                       comment: "rule to permit the traffic to pods when source is the pod's local node")
        if pod.egress.isEmpty { script.addRule(chain, "ip saddr \(ip) jump \(names.defaultChain)") }
        if pod.ingress.isEmpty { script.addRule(chain, "ip daddr \(ip) jump \(names.defaultChain)") }
        // A chain per policy and direction, each entered only in its direction (see
        // `NetworkPolicyIPTables`: kube-router's one chain per policy lets egress rules allow
        // ingress).
        for policy in pod.policies {
            if pod.ingress.contains(policy) {
                script.addRule(chain, "ip daddr \(ip) jump \(names.policyChain(policy, .ingress))",
                               comment: "run through nw policy \(policy.name) ingress rules")
            }
            if pod.egress.contains(policy) {
                script.addRule(chain, "ip saddr \(ip) jump \(names.policyChain(policy, .egress))",
                               comment: "run through nw policy \(policy.name) egress rules")
            }
        }
        script.addRule(chain, "meta mark and \(allowed) == 0x00000000 reject",
                       comment: "rule to REJECT traffic destined for POD name:\(pod.pod.name) namespace: \(pod.pod.namespace)")
        script.addRule(chain, "meta mark set meta mark and 0xfffeffff")
        script.addRule(chain, "meta mark set meta mark or \(passed)", comment: "set mark to ACCEPT traffic that comply to network policies")
    }
}
