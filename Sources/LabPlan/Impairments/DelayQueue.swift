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
/// Both directions are held in the namespace of the link's inner end (`eth0` of the pod, node
/// or host), where the loss rules are too: netfilter there sees every packet of the link,
/// routed or the namespace's own, whereas frames a bridge forwards on the outer end never meet
/// the fabric's iptables.
public struct DelayQueue: Sendable, Hashable, Codable {
    public enum Direction: String, Sendable, Hashable, Codable {
        /// Into the namespace: `mangle PREROUTING -i LINK`.
        case ingress
        /// Out of it: `mangle POSTROUTING -o LINK`.
        case egress
    }

    /// `pod/web-1`, `network/wan`, … as in `ImpairedLink`.
    public var object: String
    public var netns: String
    public var link: String
    public var direction: Direction
    /// The NFQUEUE number, unique within `netns` (queues are per namespace).
    public var queue: UInt16
    public var delayMicroseconds: Int
    /// Uniform, ± this much: netem's own spread when no distribution table is given (the lab's
    /// netem requests give none).
    public var jitterMicroseconds: Int

    public init(object: String, netns: String, link: String, direction: Direction, queue: UInt16,
                delayMicroseconds: Int, jitterMicroseconds: Int) {
        self.object = object
        self.netns = netns
        self.link = link
        self.direction = direction
        self.queue = queue
        self.delayMicroseconds = delayMicroseconds
        self.jitterMicroseconds = jitterMicroseconds
    }

    /// The iptables rule (in `mangle`) that sends this direction's packets to the queue. No
    /// `--queue-bypass`: a packet of a delayed link never passes undelayed; while nothing
    /// listens on the queue (the supervisor is not running) the link drops IP packets.
    public var rule: String {
        switch direction {
        case .ingress: return "-A \(ImpairmentPlan.ingressChain) -i \(link) -j NFQUEUE --queue-num \(queue)"
        case .egress: return "-A \(ImpairmentPlan.egressChain) -o \(link) -j NFQUEUE --queue-num \(queue)"
        }
    }
}
