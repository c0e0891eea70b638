import Glibc

/// A point on CLOCK_MONOTONIC in nanoseconds: what the probe loop schedules and measures
/// with. Plain integers, so deadlines, poll timeouts and round-trip times are exact
/// arithmetic and never move with the wall clock.
struct ProbeInstant: Comparable, Sendable {
    var nanoseconds: Int64

    static func now() -> ProbeInstant {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return ProbeInstant(nanoseconds: Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec))
    }

    /// The wall clock (`CLOCK_REALTIME`): the clock of the kernel's receive timestamps
    /// (`SO_TIMESTAMPNS`), for round trips measured against them. Only differences of two
    /// such instants taken milliseconds apart are meaningful.
    static func wallClock() -> ProbeInstant {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return ProbeInstant(time)
    }

    init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    init(_ time: timespec) {
        nanoseconds = Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    func advanced(by nanoseconds: Int64) -> ProbeInstant {
        ProbeInstant(nanoseconds: self.nanoseconds + nanoseconds)
    }

    /// Milliseconds from `start` to this instant, rounded to the microsecond, so reports and
    /// JSON carry no false precision.
    func milliseconds(since start: ProbeInstant) -> Double {
        Double((nanoseconds - start.nanoseconds + 500) / 1000) / 1000
    }

    static func < (lhs: ProbeInstant, rhs: ProbeInstant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating instead of trapping on absurd values.
    var probeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? Int64.max / 2 : scaled + attoseconds / 1_000_000_000
    }
}
