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

/// One direction of one impaired link, delayed by the delay line: the packets an iptables rule
/// in `netns` queues to `queue`, and how long each is held.
///
/// A packet is held **before it reaches the receiving namespace**, as netem holds it on the
/// sender's egress: the kernel stamps a packet's arrival (`SO_TIMESTAMP`, which ping and the
/// lab's own probes read) when it enters a namespace, so a packet held after that would look as
/// if it had not waited. For a pod both directions are held in its node's namespace, where
/// br_netfilter shows the node's iptables every frame of `cni0`: what the pod sends as it comes
/// in from the pod (`PREROUTING -i cni0 -s POD`), what it receives as it leaves for the pod
/// (`POSTROUTING -o cni0 -d POD`). A packet the pod sent has left its socket by then (a veth
/// orphans what it forwards), so a held packet never counts against the sender's buffer. The
/// uplink of a node or host ends on the fabric's bridge, whose frames meet no iptables: both
/// directions are held in the machine's own namespace at its `eth0`.
public struct DelayQueue: Sendable, Hashable, Codable {
    public enum Direction: String, Sendable, Hashable, Codable {
        /// Toward the impaired pod, node or host.
        case ingress
        /// Away from it.
        case egress
    }

    /// `pod/web-1`, `network/wan`, … as in `ImpairedLink`.
    public var object: String
    /// Where the rule and the queue are.
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
    /// `LAB-IMPAIR-INGRESS` (from PREROUTING) or `LAB-IMPAIR-EGRESS` (from POSTROUTING).
    public var chain: String
    /// The rule's match: `-i eth0`, `-o cni0 -d 10.244.1.12`, …
    public var match: String

    public init(object: String, netns: String, link: String, direction: Direction, queue: UInt16,
                delayMicroseconds: Int, jitterMicroseconds: Int, chain: String, match: String) {
        self.object = object
        self.netns = netns
        self.link = link
        self.direction = direction
        self.queue = queue
        self.delayMicroseconds = delayMicroseconds
        self.jitterMicroseconds = jitterMicroseconds
        self.chain = chain
        self.match = match
    }

    /// The iptables rule (in `mangle`) that sends this direction's packets to the queue. No
    /// `--queue-bypass`: a packet of a delayed link never passes undelayed; while nothing
    /// listens on the queue (the supervisor is not running) the link drops IP packets.
    public var rule: String { "-A \(chain) \(match) -j NFQUEUE --queue-num \(queue)" }
}
