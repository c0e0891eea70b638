import LabAddress
import LabSpec

/// The NetworkPolicy step of the expected path: kube-router's filter chains on a node, for a
/// packet from or to a local pod some policy selects. Whether the packet passes is
/// `PolicyEvaluator`'s answer (the spec); the rules quoted are the ones the node loads
/// (`NetworkPolicyIPTables`, through the same `ServiceRuleBook`), in the order the kernel
/// walks them: the jump into each selected pod's chain (`KUBE-POD-FW-…`, in the order the
/// jumps are written: pod by pod, "to" before "from"), the policy chain of the packet's
/// direction (`KUBE-NWPLCY-…`, one per policy and direction) that marks it allowed, or the
/// REJECT at the end of the pod chain; then `KUBE-NWPLCY-TAIL`'s ACCEPT.
///
/// In nftables mode the same chains live in kube-router's `ip kube-router-filter-ipv4` table
/// (`NetworkPolicyNFTables`), quoted as `nft list` prints them. Only the first packet of a
/// connection is judged: replies are `RELATED,ESTABLISHED`, which `KUBE-NWPLCY-COMMON` accepts.
extension Walker {
    struct PolicyStep {
        var hops: [TraceHop] = []
        /// Why the node rejects the packet; nil when it passes.
        var rejected: String?
    }

    /// `hook`: `FORWARD` (routed or bridged through the node), `OUTPUT` (sent by the node) or
    /// `INPUT` (taken in by the node).
    mutating func policyStep(node: NodeTopology, hook: String, packet: TracePacket, in inInterface: String?, out: String?) -> PolicyStep {
        guard topology.policy != nil, packet.encapsulated == nil,
              let layout = policyLayout(node) else { return PolicyStep() }
        // 1. The pod chains the packet is sent into, in the order of the jumps.
        let crossed = crossedPodChains(layout, hook: hook, packet: packet)
        guard !crossed.isEmpty else { return PolicyStep() }
        var walk = PolicyWalk(walker: self, book: book(node), evaluator: shared.policyEvaluator, layout: layout,
                              node: node, hookChain: PolicyWalk.hookChain(hook), packet: packet, inInterface: inInterface, out: out)
        // 2. Each pod chain in turn; the first that settles the packet's fate ends the walk.
        for (pod, direction) in crossed {
            if walk.podChain(pod, direction) == .settled { return walk.step }
        }
        // 3. Every pod chain passed it: the tail chain accepts.
        walk.tail()
        return walk.step
    }

    /// The selected local pods whose chains the packet jumps into: pod by pod, "to" before
    /// "from". `INPUT` carries nothing to a pod.
    func crossedPodChains(_ layout: PolicyLayout, hook: String, packet: TracePacket) -> [(pod: PolicyLayout.PodChain, direction: PolicyType)] {
        var crossed: [(pod: PolicyLayout.PodChain, direction: PolicyType)] = []
        for pod in layout.pods {
            if hook != "INPUT", packet.destination == pod.pod.ip { crossed.append((pod, .ingress)) }
            if packet.source == pod.pod.ip { crossed.append((pod, .egress)) }
        }
        return crossed
    }

    /// Whether a policy chain's restore line matches the packet: its protocol, its port or
    /// range, and every set it names on the side it names (the layout's members; a block's
    /// `except` does not match).
    func matches(_ line: String, packet: TracePacket, layout: PolicyLayout) -> Bool {
        let tokens = line.split(separator: " ").map(String.init)
        var index = 0
        while index < tokens.count {
            switch tokens[index] {
            case "-p":
                guard index + 1 < tokens.count, tokens[index + 1] == flow.protocol.rawValue else { return false }
            case "--dport":
                guard index + 1 < tokens.count, let port = packet.destinationPort else { return false }
                let bounds = tokens[index + 1].split(separator: ":").compactMap { Int($0) }
                guard let low = bounds.first, (low...(bounds.last ?? low)).contains(port) else { return false }
            case "--match-set":
                guard index + 2 < tokens.count, let set = layout.sets.first(where: { $0.name == tokens[index + 1] }) else { return false }
                let address = tokens[index + 2] == "src" ? packet.source : packet.destination
                guard Self.contains(set, address) else { return false }
            default:
                break
            }
            index += 1
        }
        return true
    }

    /// The same for a rule body of kube-router's nftables table: `ip saddr|daddr @SET` (an
    /// `!= @SET-X` is the block's `except`, which `contains` already leaves out), `tcp dport N`
    /// or `N-M`, `meta l4proto P`; the action (`meta mark set …`) ends the matches.
    func nftMatches(_ body: String, packet: TracePacket, layout: PolicyLayout) -> Bool {
        let tokens = body.split(separator: " ").map(String.init)
        var index = 0
        while index + 2 < tokens.count {
            let (first, second, third) = (tokens[index], tokens[index + 1], tokens[index + 2])
            if first == "meta", second == "mark" { break }
            if first == "ip", second == "saddr" || second == "daddr" {
                if third == "!=" { index += 4; continue }
                let address = second == "saddr" ? packet.source : packet.destination
                guard third.hasPrefix("@"), let set = layout.sets.first(where: { "@" + $0.name == third }), Self.contains(set, address) else { return false }
                index += 3
                continue
            }
            if ["tcp", "udp", "sctp"].contains(first), second == "dport" {
                guard first == flow.protocol.rawValue, let port = packet.destinationPort else { return false }
                let bounds = third.split(separator: "-").compactMap { Int($0) }
                guard let low = bounds.first, (low...(bounds.last ?? low)).contains(port) else { return false }
                index += 3
                continue
            }
            if first == "meta", second == "l4proto" {
                guard third == flow.protocol.rawValue else { return false }
                index += 3
                continue
            }
            index += 1
        }
        return true
    }

    static func contains(_ set: PolicyLayout.AddressSet, _ address: IPv4Address) -> Bool {
        func within(_ text: String) -> Bool {
            if let network = IPv4Network(text) { return network.contains(address) }
            return IPv4Address(text) == address
        }
        return set.addresses.contains(where: within) && !set.except.contains(where: within)
    }
}

/// One packet's walk through a node's NetworkPolicy chains, as `Walker.policyStep` runs it:
/// the hops written so far and the rule text each quotes, from iptables' restore lines or
/// nft's listing, whichever the node loads.
struct PolicyWalk {
    /// Whether a pod chain decided the packet (accepted or rejected it, so later pod chains
    /// and the tail are never reached) or handed it on.
    enum Outcome { case settled, passed }

    let walker: Walker
    let book: ServiceRuleBook
    let evaluator: PolicyEvaluator
    let layout: PolicyLayout
    let node: NodeTopology
    /// The chain kube-router hooks into the netfilter hook the packet takes here.
    let hookChain: String
    let packet: TracePacket
    let inInterface: String?
    let out: String?
    var step = Walker.PolicyStep()

    private var chains: NetworkPolicyIPTables.Type { NetworkPolicyIPTables.self }
    var topology: Topology { walker.topology }
    var nft: Bool { topology.proxy == .nftables }
    var source: PolicyEvaluator.Endpoint { endpoint(packet.source) }
    var destination: PolicyEvaluator.Endpoint { endpoint(packet.destination) }

    /// A pod by its name, anything else by its address: what the evaluator matches peers on.
    func endpoint(_ address: IPv4Address) -> PolicyEvaluator.Endpoint {
        topology.pods.first { $0.ip == address }.map { .pod($0.name) } ?? .address(address)
    }

    static func hookChain(_ hook: String) -> String {
        switch hook {
        case "INPUT": NetworkPolicyIPTables.input
        case "OUTPUT": NetworkPolicyIPTables.output
        default: NetworkPolicyIPTables.forward
        }
    }

    /// The rule of `chain` whose text holds every fragment: iptables' restore line, or nft's.
    func rule(_ chain: String, _ iptables: [String], _ nftables: [String]) -> String? {
        nft ? book.nftPolicyRule(chain, containing: nftables) : book.iptablesRule("filter", chain, containing: iptables)
    }

    mutating func add(_ chain: String, _ rule: String?, _ decision: String, verdict: String? = nil) {
        step.hops.append(TraceHop(netns: node.netns, object: node.name, in: inInterface, out: out, decision: decision,
                                  rule: rule, table: nft ? NetworkPolicyNFTables.table : "filter", chain: chain, verdict: verdict))
    }

    /// One selected pod's chain: the jump into it, then what it does with the packet.
    mutating func podChain(_ chainOf: PolicyLayout.PodChain, _ direction: PolicyType) -> Outcome {
        let pod = chainOf.pod
        let podChain = chains.podChain(pod)
        let side = direction == .ingress ? "-d \(pod.ip)/32 " : "-s \(pod.ip)/32 "
        let nftSide = direction == .ingress ? "ip daddr \(pod.ip) " : "ip saddr \(pod.ip) "
        let who = "\(pod.namespace)/\(pod.name)"
        let selecting = chainOf.policies.map { "\($0.namespace)/\($0.name)" }.joined(separator: ", ")
        add(hookChain, rule(hookChain, [side, "-j \(podChain)"], [nftSide + "jump \(podChain)"]),
            "\(direction == .ingress ? "to" : "from") \(who), selected by \(selecting): jump to \(podChain)")
        if acceptedBeforePolicies(pod, direction, podChain: podChain, who: who) { return .settled }
        guard let transport = walker.flow.protocol.transport, let port = packet.destinationPort else {
            icmpEcho(podChain: podChain)
            return .settled
        }
        let peer = direction == .ingress ? source : destination
        let verdict = evaluator.verdict(of: pod, direction, peer: peer, destination: destination, protocol: transport, port: port)
        let reason = verdict.reasons.first ?? ""
        let isolating = direction == .ingress ? chainOf.ingress : chainOf.egress
        if isolating.isEmpty {
            add(podChain, rule(podChain, [side, "-j \(chains.defaultChain)"], [nftSide + "jump \(chains.defaultChain)"]),
                "\(who) is not isolated for \(direction.rawValue.lowercased()): jump to \(chains.defaultChain)")
            add(chains.defaultChain, rule(chains.defaultChain, ["-j MARK"], ["meta mark set"]), "mark allowed (\(NetworkPolicyIPTables.allowedMark))")
            return .passed
        }
        if verdict.allowed {
            allowed(podChain: podChain, direction, isolating: isolating, reason: reason)
            return .passed
        }
        rejected(podChain: podChain, direction, isolating: isolating, reason: reason)
        return .settled
    }

    /// The pod chain's first rules, which accept before any policy is asked: a pod's traffic to
    /// itself, and (for ingress) what comes from the pod's own node.
    mutating func acceptedBeforePolicies(_ pod: PodTopology, _ direction: PolicyType, podChain: String, who: String) -> Bool {
        if packet.source == packet.destination {
            add(podChain, rule(podChain, ["-s \(pod.ip)/32 -d \(pod.ip)/32 ", "-j ACCEPT"], ["ip saddr \(pod.ip) ip daddr \(pod.ip) accept"]),
                "a pod's traffic to itself: ACCEPT")
            return true
        }
        if direction == .ingress, topology.nodes.contains(where: { $0.name == pod.node && ($0.ip == packet.source || $0.bridgeAddress == packet.source || (topology.mode == .vxlan && $0.podCIDR.address == packet.source)) }) {
            add(podChain, rule(podChain, ["--src-type LOCAL", "-j ACCEPT"], ["fib saddr type local", "accept"]),
                "from \(who)'s own node \(pod.node): ACCEPT")
            return true
        }
        return false
    }

    /// ICMP: kube-router accepts echo requests whatever the policies say.
    mutating func icmpEcho(podChain: String) {
        add(podChain, rule(podChain, ["-j \(chains.common)"], ["jump \(chains.common)"]), "jump to \(chains.common)")
        add(chains.common, rule(chains.common, ["--icmp-type 8 ", "-j ACCEPT"], ["echo-request", "accept"]),
            "ICMP echo request: ACCEPT, whatever the policies")
    }

    /// The policy the evaluator names, and the first of its rules that matches this packet,
    /// which marks it allowed.
    mutating func allowed(podChain: String, _ direction: PolicyType, isolating: [NetworkPolicySpec], reason: String) {
        let allowing = isolating.first { reason.contains("by \($0.namespace)/\($0.name) ") } ?? isolating[0]
        let policyChain = chains.policyChain(allowing, direction)
        add(podChain, rule(podChain, ["-j \(policyChain)"], ["jump \(policyChain)"]),
            "run through policy \(allowing.namespace)/\(allowing.name)'s \(direction.rawValue.lowercased()) rules: jump to \(policyChain)")
        let mark = nft
            ? book.nftPolicyLines(policyChain).first { walker.nftMatches($0, packet: packet, layout: layout) }.map(ServiceRuleBook.nftListedPolicyRule)
            : book.iptablesLines("filter", policyChain).first { line in
                line.contains("-j MARK") && walker.matches(line, packet: packet, layout: layout)
            }.map(SavedRuleText.iptablesSave)
        add(policyChain, mark, "\(reason): mark allowed (\(NetworkPolicyIPTables.allowedMark))")
    }

    /// Every isolating policy's chain run through without a mark, then the pod chain's REJECT.
    mutating func rejected(podChain: String, _ direction: PolicyType, isolating: [NetworkPolicySpec], reason: String) {
        for policy in isolating {
            let policyChain = chains.policyChain(policy, direction)
            add(podChain, rule(podChain, ["-j \(policyChain)"], ["jump \(policyChain)"]), "run through policy \(policy.namespace)/\(policy.name)'s \(direction.rawValue.lowercased()) rules: jump to \(policyChain), no rule marks it")
        }
        let text = "rejected by NetworkPolicy at \(node.name) (\(podChain)): \(reason)"
        add(podChain, rule(podChain, ["! --mark \(NetworkPolicyIPTables.allowedMark) ", "-j REJECT"], ["reject"]), text, verdict: "reject")
        step.rejected = text
    }

    /// Every pod chain passed the packet: the hook chain's jump to the tail, which accepts it.
    mutating func tail() {
        add(hookChain, rule(hookChain, ["-j \(chains.tail)"], ["jump \(chains.tail)"]), "jump to \(chains.tail)")
        add(chains.tail, rule(chains.tail, ["--mark \(NetworkPolicyIPTables.passedMark) ", "-j ACCEPT"], ["accept"]),
            "every pod chain passed it (\(NetworkPolicyIPTables.passedMark)): ACCEPT")
    }
}
