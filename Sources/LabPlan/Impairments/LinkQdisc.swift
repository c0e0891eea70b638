import LabSpec

/// The root qdisc that shapes what one end of an impaired link sends.
public enum LinkQdisc: Sendable, Hashable {
    /// Rate alone: a token bucket, which every kernel lab runs on has.
    case tokenBucket(TokenBucket)
    /// Delay (with jitter and rate): netem, where the kernel has it. A lab planned for netem
    /// that meets a kernel without it gets `fallback` (the rate alone); `lab up` plans with the
    /// delay line instead once it knows (`DelayMechanism`).
    case netem(Netem)

    /// The qdisc an end gets for `impairment`, nil when it needs none (loss alone is
    /// netfilter's, and so is delay when the delay line holds it).
    public static func `for`(_ impairment: LinkImpairment, mtu: Int, delay: DelayMechanism = .netem) -> LinkQdisc? {
        if impairment.delays, delay == .netem {
            return .netem(Netem(delayMicroseconds: impairment.delayMicroseconds ?? 0,
                                jitterMicroseconds: impairment.jitterMicroseconds ?? 0,
                                rateBitsPerSecond: impairment.rateBitsPerSecond, mtu: mtu))
        }
        return impairment.rateBitsPerSecond.map { .tokenBucket(TokenBucket(rateBitsPerSecond: $0, mtu: mtu)) }
    }

    /// What follows `root` in `tc qdisc replace dev LINK root …`.
    public var tcArguments: String {
        switch self {
        case .tokenBucket(let bucket):
            return "tbf rate \(ImpairmentText.rate(bucket.rateBitsPerSecond)) burst \(bucket.burstBytes) limit \(bucket.limitBytes)"
        case .netem(let netem):
            var text = "netem limit \(netem.limit) delay \(ImpairmentText.duration(netem.delayMicroseconds))"
            if netem.jitterMicroseconds > 0 { text += " \(ImpairmentText.duration(netem.jitterMicroseconds))" }
            if let rate = netem.rateBitsPerSecond { text += " rate \(ImpairmentText.rate(rate))" }
            return text
        }
    }
}

/// `tbf rate R burst B limit L`: the rate of a link, with a burst of 10 ms of traffic (at least
/// one full frame, or a frame could never pass) and a queue of 50 ms beyond it, as
/// `tc … tbf … latency 50ms` sizes it.
public struct TokenBucket: Sendable, Hashable {
    public var rateBitsPerSecond: UInt64
    public var burstBytes: UInt32
    public var limitBytes: UInt32

    public init(rateBitsPerSecond: UInt64, mtu: Int) {
        self.rateBitsPerSecond = rateBitsPerSecond
        let bytesPerSecond = rateBitsPerSecond / 8
        burstBytes = UInt32(clamping: max(bytesPerSecond / 100, UInt64(mtu + 14)))
        limitBytes = UInt32(clamping: bytesPerSecond / 20 + UInt64(burstBytes))
    }

    public var rateBytesPerSecond: UInt64 { rateBitsPerSecond / 8 }
}

/// `netem limit N delay D [J] [rate R]`.
public struct Netem: Sendable, Hashable {
    public var delayMicroseconds: Int
    public var jitterMicroseconds: Int
    public var rateBitsPerSecond: UInt64?
    /// Packets held at most: netem drops beyond it. tc's default of 1,000 would drop at
    /// 10,000 packets/s behind 100 ms; 10,000 covers a veth's rates at the delays labs use.
    public var limit: UInt32 = 10_000
    /// The qdisc installed where the kernel has no netem: the rate alone.
    public var fallback: TokenBucket?

    public init(delayMicroseconds: Int, jitterMicroseconds: Int, rateBitsPerSecond: UInt64?, mtu: Int) {
        self.delayMicroseconds = delayMicroseconds
        self.jitterMicroseconds = jitterMicroseconds
        self.rateBitsPerSecond = rateBitsPerSecond
        fallback = rateBitsPerSecond.map { TokenBucket(rateBitsPerSecond: $0, mtu: mtu) }
    }

    public var rateBytesPerSecond: UInt64? { rateBitsPerSecond.map { $0 / 8 } }
}
