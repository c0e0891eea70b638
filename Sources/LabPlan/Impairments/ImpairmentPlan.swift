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
    /// The delay line's chains in `raw`, ahead of conntrack (see `DelayQueue`), from
    /// `PREROUTING` and `OUTPUT`.
    public static let rawIngressChain = "LAB-DELAY-PREROUTING"
    public static let rawOutputChain = "LAB-DELAY-OUTPUT"

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

    /// Every direction the delay line holds (see `DelayQueue` for where), in link order: none
    /// unless the lab is planned with the delay line. Each namespace numbers its queues from 0.
    public static func delayQueues(_ topology: Topology) -> [DelayQueue] {
        guard topology.delayMechanism == .delayLine else { return [] }
        var next: [String: UInt16] = [:]
        var queues: [DelayQueue] = []
        for link in topology.impairments ?? [] where link.impairment.delays {
            typealias Rule = DelayQueue.Rule
            let sides: [(netns: String, direction: DelayQueue.Direction, rules: [Rule])]
            if link.object.hasPrefix("pod/"), let pod = topology.pod(named: String(link.object.dropFirst("pod/".count))) {
                sides = [(link.outer.netns, .ingress, [
                            Rule(table: "raw", chain: rawIngressChain, match: "-d \(pod.ip)"),
                            Rule(table: "raw", chain: rawOutputChain, match: "-d \(pod.ip)"),
                            Rule(table: "mangle", chain: egressChain,
                                 match: "-o \(Naming.podBridge) -d \(pod.ip) -m conntrack --ctstate DNAT --ctdir ORIGINAL"),
                         ]),
                         (link.outer.netns, .egress, [Rule(table: "raw", chain: rawIngressChain, match: "-i \(Naming.podBridge) -s \(pod.ip)")])]
            } else {
                sides = [(link.inner.netns, .ingress, [Rule(table: "raw", chain: rawIngressChain, match: "-i \(link.inner.link)")]),
                         (link.inner.netns, .egress, [
                            Rule(table: "raw", chain: rawOutputChain, match: "-o \(link.inner.link)"),
                            Rule(table: "mangle", chain: egressChain, match: "-o \(link.inner.link) -m addrtype ! --src-type LOCAL"),
                         ])]
            }
            for side in sides {
                let number = next[side.netns, default: 0]
                next[side.netns] = number + 1
                queues.append(DelayQueue(object: link.object, netns: side.netns, link: link.inner.link, direction: side.direction,
                                         queue: number, delayMicroseconds: link.impairment.delayMicroseconds ?? 0,
                                         jitterMicroseconds: link.impairment.jitterMicroseconds ?? 0, rules: side.rules))
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

    /// Per namespace with a lossy link or a delay-line queue, in plan order: the
    /// `iptables-restore` text that drops at random on a link's inner end (each direction on its
    /// own) and queues to the delay line (in `raw` where it can, see `DelayQueue`; a packet
    /// queued there meets the loss rules after its delay).
    static func lossRules(_ topology: Topology) -> [(namespace: String, rules: String)] {
        var order: [String] = []
        var seen = Set<String>()
        var ingress: [String: [String]] = [:], egress: [String: [String]] = [:]
        func add(_ namespace: String, _ chain: String, _ line: String) {
            if seen.insert(namespace).inserted { order.append(namespace) }
            if chain == ingressChain {
                ingress[namespace, default: []].append(line)
            } else {
                egress[namespace, default: []].append(line)
            }
        }
        for link in topology.impairments ?? [] {
            guard let loss = link.impairment.loss, loss > 0 else { continue }
            let match = "-m statistic --mode random --probability \(probability(loss)) -j DROP"
            add(link.inner.netns, ingressChain, "-A \(ingressChain) -i \(link.inner.link) \(match)")
            add(link.inner.netns, egressChain, "-A \(egressChain) -o \(link.inner.link) \(match)")
        }
        var raw: [String: [String]] = [:]
        for queue in delayQueues(topology) {
            for rule in queue.rules {
                if rule.table == "raw" {
                    if seen.insert(queue.netns).inserted { order.append(queue.netns) }
                    raw[queue.netns, default: []].append(queue.line(rule))
                } else {
                    add(queue.netns, rule.chain, queue.line(rule))
                }
            }
        }
        return order.map { namespace in
            var lines = ["*mangle", ":\(ingressChain) - [0:0]", ":\(egressChain) - [0:0]",
                         "-A PREROUTING -j \(ingressChain)", "-A POSTROUTING -j \(egressChain)"]
            // Each chain's rules in plan order (the chains are apart, so one after the other).
            lines += (ingress[namespace] ?? []) + (egress[namespace] ?? []) + ["COMMIT"]
            if let rawLines = raw[namespace] {
                lines += ["*raw", ":\(rawIngressChain) - [0:0]", ":\(rawOutputChain) - [0:0]",
                          "-A PREROUTING -j \(rawIngressChain)", "-A OUTPUT -j \(rawOutputChain)"]
                    + rawLines.filter { $0.hasPrefix("-A \(rawIngressChain) ") } + rawLines.filter { $0.hasPrefix("-A \(rawOutputChain) ") }
                    + ["COMMIT"]
            }
            return (namespace, lines.joined(separator: "\n") + "\n")
        }
    }

    /// `0.01` for 1%: the shortest decimal that is the same double.
    static func probability(_ fraction: Double) -> String {
        fraction >= 1 ? "1" : "\(fraction)"
    }
}
