import LabSpec

/// One step of a packet's path: the namespace it is in, the interfaces it came in and leaves
/// by, and what decided its way there (a route, a bridge port, a netfilter rule, a NAT, an
/// encapsulation). Expected hops come from the model, observed ones from the kernel; both have
/// this shape so they can be put side by side.
public struct TraceHop: Sendable, Hashable, Codable {
    /// The kernel's namespace (`lab.demo.node.node-1`).
    public var netns: String
    /// The lab's name for what owns it: `pod-a`, `node-1`, `fabric`, `host/laptop`.
    public var object: String
    public var `in`: String?
    public var out: String?
    /// In words: `route 10.244.2.0/24 via 192.168.1.11 dev eth0`, `cni0 forwards to port vethX`.
    public var decision: String
    /// A netfilter rule's text, as `iptables-save` or `nft list ruleset` prints it.
    public var rule: String?
    public var table: String?
    public var chain: String?
    /// An address translation: `dst 10.96.0.20:80 → 10.244.2.2:8080`.
    public var nat: String?
    /// An encapsulation or decapsulation: `vxlan 192.168.1.10 → 192.168.1.11 udp 8472 vni 1`.
    public var encap: String?
    /// Set on an observed hop where the kernel stopped the packet (`drop`, `reject`).
    public var verdict: String?

    public init(netns: String, object: String, in: String? = nil, out: String? = nil, decision: String,
                rule: String? = nil, table: String? = nil, chain: String? = nil, nat: String? = nil,
                encap: String? = nil, verdict: String? = nil) {
        self.netns = netns
        self.object = object
        self.in = `in`
        self.out = out
        self.decision = decision
        self.rule = rule
        self.table = table
        self.chain = chain
        self.nat = nat
        self.encap = encap
        self.verdict = verdict
    }

    /// A hop of netfilter (a rule or a chain's policy) rather than of routing or bridging.
    public var isRule: Bool { chain != nil }
}

/// How the model expects a path to end.
public enum TraceOutcome: Sendable, Hashable, Codable {
    /// Delivered to the namespace of `object` (a pod, node or host).
    case delivered(object: String, address: String)
    /// Stopped in `object` because of `reason` (`no route to 10.96.0.20`, a rule, …).
    case dropped(object: String, reason: String)

    public var isDelivered: Bool {
        if case .delivered = self { return true }
        return false
    }
}

/// One way through the lab: the whole path when nothing forks, or one endpoint of a service
/// (kube-proxy picks one at random per new connection, so the model walks each).
public struct TracePath: Sendable, Hashable, Codable {
    /// `endpoint web-2 (10.244.2.2:8080)`, nil when the path does not fork.
    public var branch: String?
    /// The chance of this branch for a new connection: `1/3`.
    public var probability: String?
    /// The endpoint pod or address this branch reaches.
    public var endpoint: String?
    public var forward: [TraceHop]
    public var reply: [TraceHop]
    public var outcome: TraceOutcome
    /// The reply the destination sends: `SYN-ACK`, `RST`, `echo reply`, …; nil when dropped.
    public var replyKind: String?
    /// An nft match for the reply when the request was masqueraded: the reply then goes to a
    /// node address and a port chosen at random, so only the model's tuple picks it out
    /// (`ip saddr 10.244.1.3 ip daddr 10.244.1.1 tcp sport 8080`).
    public var replyMatch: String?
}

/// The model's answer for one flow: every branch, in the order kube-proxy's rules list them.
public struct ExpectedTrace: Sendable, Hashable {
    public var flow: TraceFlow
    public var proxy: ProxyMode
    public var mode: NetworkMode
    public var paths: [TracePath]
    /// The extra trace selectors the replies of masqueraded branches need.
    public var replyMatches: [String] {
        var seen: Set<String> = []
        return paths.compactMap(\.replyMatch).filter { seen.insert($0).inserted }
    }
    /// Namespaces any branch crosses, in first-visit order: where observation must listen.
    public var namespaces: [String] {
        var seen: Set<String> = []
        var ordered: [String] = []
        for path in paths {
            for hop in path.forward + path.reply where seen.insert(hop.netns).inserted { ordered.append(hop.netns) }
        }
        return ordered
    }
    /// Node namespaces where the model translates the packet (where the conntrack entry is).
    public var natNamespaces: [String] {
        var seen: Set<String> = []
        var ordered: [String] = []
        for path in paths {
            for hop in path.forward where hop.nat != nil && seen.insert(hop.netns).inserted { ordered.append(hop.netns) }
        }
        return ordered
    }
}
