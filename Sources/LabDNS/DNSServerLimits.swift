/// Bounds that keep one client from pinning the server's memory, descriptors or time. Every
/// buffer the server holds is sized from these, so memory does not grow with the number of
/// queries or clients.
public struct DNSServerLimits: Sendable {
    /// Open TCP connections; one beyond this is accepted and closed at once, so the accept queue
    /// never backs up behind a flood.
    public var maxTCPConnections: Int = 256
    /// How long a TCP connection may stay without completing a query (or reading its answer);
    /// partial input does not extend it, so a client trickling bytes is cut off too. CoreDNS's
    /// default is the same 10 s.
    public var tcpIdleTimeout: Duration = .seconds(10)
    /// The largest query accepted over TCP, which is also each connection's fixed input buffer.
    /// Queries are a few hundred bytes; a larger length prefix closes the connection.
    public var maxTCPQueryBytes: Int = 4096
    /// Queries per second answered for one source address, with `burstPerSource` allowed at
    /// once; the rest are dropped before they are parsed, so a flooding pod costs little and
    /// the others are still answered. 0 turns the limit off.
    public var queriesPerSecondPerSource: Int = 20_000
    public var burstPerSource: Int = 2_000
    /// Datagrams read per turn of the loop before the TCP connections get theirs.
    public var datagramsPerTurn: Int = 64

    /// Every default above: what a server has unless told otherwise.
    public static let standard = DNSServerLimits()
}

/// A token bucket per source address in a fixed table: two sources that hash to one slot take
/// it from each other (and start with a full bucket), which errs on the side of answering.
struct SourceBudget {
    private struct Slot {
        var source: UInt32 = 0
        var tokens = 0.0
        var stamp: ContinuousClock.Instant?
        var dropped = 0
    }

    private var slots: [Slot]
    private let rate: Double
    private let burst: Double

    static let slotCount = 1024

    init(queriesPerSecond: Int, burst: Int) {
        rate = Double(queriesPerSecond)
        self.burst = Double(max(burst, 1))
        slots = rate > 0 ? Array(repeating: Slot(), count: Self.slotCount) : []
    }

    /// Whether a query from `source` (an IPv4 address in host order) is answered now.
    mutating func admit(_ source: UInt32, now: ContinuousClock.Instant) -> Bool {
        guard !slots.isEmpty else { return true }
        let index = Self.slot(of: source)
        if slots[index].source != source || slots[index].stamp == nil {
            slots[index] = Slot(source: source, tokens: burst, stamp: now, dropped: slots[index].source == source ? slots[index].dropped : 0)
        } else if let stamp = slots[index].stamp {
            let elapsed = Double((now - stamp).components.attoseconds) / 1e18 + Double((now - stamp).components.seconds)
            slots[index].tokens = min(burst, slots[index].tokens + elapsed * rate)
            slots[index].stamp = now
        }
        if slots[index].tokens >= 1 {
            slots[index].tokens -= 1
            return true
        }
        slots[index].dropped += 1
        return false
    }

    /// A query of `source` dropped for another reason (the server was behind), reported with
    /// the budget's own drops.
    mutating func recordDrop(_ source: UInt32) {
        guard !slots.isEmpty else { return }
        let index = Self.slot(of: source)
        if slots[index].source == source { slots[index].dropped += 1 }
    }

    private static func slot(of source: UInt32) -> Int {
        Int((UInt64(source) &* 0x9E37_79B9_7F4A_7C15) >> 54) % slotCount
    }

    /// The sources that had queries dropped since the last call, with how many.
    mutating func takeDropped() -> [(source: UInt32, count: Int)] {
        var dropped: [(UInt32, Int)] = []
        for index in slots.indices where slots[index].dropped > 0 {
            dropped.append((slots[index].source, slots[index].dropped))
            slots[index].dropped = 0
        }
        return dropped
    }
}
