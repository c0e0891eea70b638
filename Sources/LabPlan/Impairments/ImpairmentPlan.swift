import LabSpec

/// The kernel operations of a lab's `link:` impairments: a root qdisc on each end of each
/// impaired veth (rate, delay), and netfilter's random drop for loss, loaded with the
/// namespace's other rules.
public enum ImpairmentPlan {
    /// The chains loss rules live in (`mangle`: it sees every packet a namespace receives or
    /// sends, routed or its own, before the kube-proxy and policy chains).
    public static let ingressChain = "LAB-IMPAIR-INGRESS"
    public static let egressChain = "LAB-IMPAIR-EGRESS"

    /// `tc qdisc replace … root …` for each end of each impaired link.
    static func qdiscs(_ topology: Topology) -> [KernelOperation] {
        var ops: [KernelOperation] = []
        for link in topology.impairments ?? [] {
            let mtu = link.object.hasPrefix("pod/") ? topology.podMTU : topology.mtu
            guard let qdisc = LinkQdisc.for(link.impairment, mtu: mtu) else { continue }
            for end in link.ends { ops.append(.replaceQdisc(netns: end.netns, link: end.link, qdisc: qdisc)) }
        }
        return ops
    }

    /// `firewall` (the service rules) with the loss rules of each namespace added: into the
    /// namespace's `iptables-restore` load when it has one, so a namespace still gets one
    /// transaction; else as a load of its own.
    static func withLossRules(_ firewall: [KernelOperation], _ topology: Topology) -> [KernelOperation] {
        var ops = firewall
        for (namespace, rules) in lossRules(topology) {
            if let index = ops.firstIndex(where: {
                if case .loadFirewall(namespace, .iptablesRestore, _) = $0 { return true } else { return false }
            }), case .loadFirewall(_, _, let existing) = ops[index] {
                ops[index] = .loadFirewall(netns: namespace, loader: .iptablesRestore, rules: existing + rules)
            } else {
                ops.append(.loadFirewall(netns: namespace, loader: .iptablesRestore, rules: rules))
            }
        }
        return ops
    }

    /// Per namespace with a lossy link, in plan order: the `iptables-restore` text that drops
    /// at random on its inner end, each direction on its own.
    static func lossRules(_ topology: Topology) -> [(namespace: String, rules: String)] {
        var order: [String] = []
        var byNamespace: [String: [(link: String, loss: Double)]] = [:]
        for link in topology.impairments ?? [] {
            guard let loss = link.impairment.loss, loss > 0 else { continue }
            if byNamespace[link.inner.netns] == nil { order.append(link.inner.netns) }
            byNamespace[link.inner.netns, default: []].append((link.inner.link, loss))
        }
        return order.map { namespace in
            var lines = ["*mangle", ":\(ingressChain) - [0:0]", ":\(egressChain) - [0:0]",
                         "-A PREROUTING -j \(ingressChain)", "-A POSTROUTING -j \(egressChain)"]
            for entry in byNamespace[namespace] ?? [] {
                let match = "-m statistic --mode random --probability \(probability(entry.loss)) -j DROP"
                lines.append("-A \(ingressChain) -i \(entry.link) \(match)")
                lines.append("-A \(egressChain) -o \(entry.link) \(match)")
            }
            lines.append("COMMIT")
            return (namespace, lines.joined(separator: "\n") + "\n")
        }
    }

    /// `0.01` for 1%: the shortest decimal that is the same double.
    static func probability(_ fraction: Double) -> String {
        fraction >= 1 ? "1" : "\(fraction)"
    }
}
