import LabSpec

/// The kernel operations of a lab's `link:` impairments: a root qdisc on each end of each
/// impaired veth (rate; delay where netem does it), netfilter's random drop for loss, and on a
/// kernel without netem the NFQUEUE rules of the delay line, loaded with the namespace's other
/// rules.
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
            guard let qdisc = LinkQdisc.for(link.impairment, mtu: mtu, delay: topology.delayMechanism ?? .netem) else { continue }
            for end in link.ends { ops.append(.replaceQdisc(netns: end.netns, link: end.link, qdisc: qdisc)) }
        }
        return ops
    }

    /// Every direction the delay line holds, in link order: none unless the lab is planned with
    /// the delay line. Each namespace numbers its queues from 0, ingress before egress.
    public static func delayQueues(_ topology: Topology) -> [DelayQueue] {
        guard topology.delayMechanism == .delayLine else { return [] }
        var next: [String: UInt16] = [:]
        var queues: [DelayQueue] = []
        for link in topology.impairments ?? [] where link.impairment.delays {
            for direction in [DelayQueue.Direction.ingress, .egress] {
                let number = next[link.inner.netns, default: 0]
                next[link.inner.netns] = number + 1
                queues.append(DelayQueue(object: link.object, netns: link.inner.netns, link: link.inner.link, direction: direction,
                                         queue: number, delayMicroseconds: link.impairment.delayMicroseconds ?? 0,
                                         jitterMicroseconds: link.impairment.jitterMicroseconds ?? 0))
            }
        }
        return queues
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

    /// Per namespace with a lossy or delay-line link, in plan order: the `iptables-restore`
    /// text that drops at random on its inner end and queues to the delay line, each direction
    /// on its own. A packet is dropped before it is queued, so a lost one costs the delay line
    /// nothing.
    static func lossRules(_ topology: Topology) -> [(namespace: String, rules: String)] {
        var order: [String] = []
        var byNamespace: [String: [(link: String, loss: Double?, queues: [DelayQueue])]] = [:]
        let queues = Dictionary(grouping: delayQueues(topology)) { LinkKey(netns: $0.netns, name: $0.link) }
        for link in topology.impairments ?? [] {
            let loss = link.impairment.loss.flatMap { $0 > 0 ? $0 : nil }
            let delayed = queues[LinkKey(netns: link.inner.netns, name: link.inner.link)] ?? []
            guard loss != nil || !delayed.isEmpty else { continue }
            if byNamespace[link.inner.netns] == nil { order.append(link.inner.netns) }
            byNamespace[link.inner.netns, default: []].append((link.inner.link, loss, delayed))
        }
        return order.map { namespace in
            var lines = ["*mangle", ":\(ingressChain) - [0:0]", ":\(egressChain) - [0:0]",
                         "-A PREROUTING -j \(ingressChain)", "-A POSTROUTING -j \(egressChain)"]
            for entry in byNamespace[namespace] ?? [] {
                let match = entry.loss.map { "-m statistic --mode random --probability \(probability($0)) -j DROP" }
                if let match { lines.append("-A \(ingressChain) -i \(entry.link) \(match)") }
                lines += entry.queues.filter { $0.direction == .ingress }.map(\.rule)
                if let match { lines.append("-A \(egressChain) -o \(entry.link) \(match)") }
                lines += entry.queues.filter { $0.direction == .egress }.map(\.rule)
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
