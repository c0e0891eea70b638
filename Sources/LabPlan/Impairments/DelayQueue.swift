import LabSpec

/// How a lab holds packets back where a link asks for `delay` or `jitter`: netem, or, on a
/// kernel without it, the supervisor's delay line fed by NFQUEUE. Settled before planning (the
/// kernel is asked once) and kept in the lab's state, as the neighbour mode is.
public enum DelayMechanism: String, Sendable, Hashable, Codable {
    case netem
    /// iptables `-j NFQUEUE` rules hand each packet to the lab's supervisor, which accepts it
    /// once its delay has passed (`NFQueueDelayLine`).
    case delayLine = "nfqueue"

    /// What `lab up`, `lab status` and `lab doctor` call it.
    public var description: String {
        switch self {
        case .netem: return "netem"
        case .delayLine: return "delay line (NFQUEUE)"
        }
    }
}

/// One direction of one impaired link, delayed by the delay line: the packets the iptables
/// rules in `netns` queue to `queue`, and how long each is held.
///
/// A packet is held **before it reaches the receiving namespace**, as netem holds it on the
/// sender's egress: the kernel stamps a packet's arrival (`SO_TIMESTAMP`, which ping and the
/// lab's own probes read) when it enters a namespace, so a packet held after that would look as
/// if it had not waited. For a pod both directions are held in its node's namespace, where
/// br_netfilter shows the node's iptables every frame of `cni0`. The uplink of a node or host
/// ends on the fabric's bridge, whose frames meet no iptables: both directions are held in the
/// machine's own namespace at its `eth0`.
///
/// A packet is held **before conntrack sees it** wherever the rule can tell it apart there (the
/// `raw` table, ahead of conntrack): a new flow's packets held after conntrack would each carry
/// an unconfirmed entry of the same tuple, and all but the first would be dropped when their
/// entries clash at confirmation — a burst of pings would lose all but one while the first is
/// held (netem, a qdisc, sits after conntrack's confirmation and never meets this). What `raw`
/// cannot tell apart waits in `mangle`, after conntrack, where only flows that resolve such
/// clashes (TCP, UDP) go: packets DNATed to the pod by a service (their destination is the
/// ClusterIP until then), and what a node forwards out of its `eth0`.
public struct DelayQueue: Sendable, Hashable, Codable {
    public enum Direction: String, Sendable, Hashable, Codable {
        /// Toward the impaired pod, node or host.
        case ingress
        /// Away from it.
        case egress
    }

    /// Where a rule that queues this direction's packets goes, and what it matches.
    public struct Rule: Sendable, Hashable, Codable {
        public var table: String
        public var chain: String
        /// `-i eth0`, `-d 10.244.1.12`, …
        public var match: String
    }

    /// `pod/web-1`, `network/wan`, … as in `ImpairedLink`.
    public var object: String
    /// Where the rules and the queue are.
    public var netns: String
    /// The impaired link's inner end (`eth0` of the pod, node or host), for status.
    public var link: String
    public var direction: Direction
    /// The NFQUEUE number, unique within `netns` (queues are per namespace).
    public var queue: UInt16
    public var delayMicroseconds: Int
    /// Uniform, ± this much: netem's own spread when no distribution table is given (the lab's
    /// netem requests give none).
    public var jitterMicroseconds: Int
    public var rules: [Rule]

    public init(object: String, netns: String, link: String, direction: Direction, queue: UInt16,
                delayMicroseconds: Int, jitterMicroseconds: Int, rules: [Rule]) {
        self.object = object
        self.netns = netns
        self.link = link
        self.direction = direction
        self.queue = queue
        self.delayMicroseconds = delayMicroseconds
        self.jitterMicroseconds = jitterMicroseconds
        self.rules = rules
    }

    /// The iptables line of one of its rules. No `--queue-bypass`: a packet of a delayed link
    /// never passes undelayed; while nothing listens on the queue (the supervisor is not
    /// running) the link drops IP packets.
    public func line(_ rule: Rule) -> String { "-A \(rule.chain) \(rule.match) -j NFQUEUE --queue-num \(queue)" }
}
