/// Root qdiscs: how a lab link is slowed down and delayed.
extension RouteChange {
    /// Equivalent to: `tc qdisc replace dev LINK root tbf rate R burst B limit L`
    public static func replaceTokenBucket(link: String, rateBytesPerSecond: UInt64, burstBytes: UInt32,
                                          limitBytes: UInt32) -> RouteChange {
        RouteChange("replace tbf qdisc", "dev \(quoted(link)) (rate \(rateBytesPerSecond * 8) bit/s)", links: [link]) {
            .replaceTokenBucket(linkIndex: $0[0], rateBytesPerSecond: rateBytesPerSecond, burstBytes: burstBytes,
                                limitBytes: limitBytes)
        }
    }

    /// Equivalent to: `tc qdisc replace dev LINK root netem limit N delay D J [loss P%] [rate R]`
    ///
    /// ENOENT when the kernel has no netem (`CONFIG_NET_SCH_NETEM`): the qdisc kind is unknown.
    public static func replaceNetem(link: String, limit: UInt32, delayMicroseconds: Int, jitterMicroseconds: Int,
                                    loss: Double = 0, rateBytesPerSecond: UInt64?) -> RouteChange {
        RouteChange("replace netem qdisc", "dev \(quoted(link)) (delay \(delayMicroseconds) us)", links: [link]) {
            .replaceNetem(linkIndex: $0[0], limit: limit, delayMicroseconds: delayMicroseconds,
                          jitterMicroseconds: jitterMicroseconds, loss: loss, rateBytesPerSecond: rateBytesPerSecond)
        }
    }

    /// Equivalent to: `tc qdisc del dev LINK root` — ENOENT when there is nothing but the default.
    public static func deleteRootQdisc(link: String) -> RouteChange {
        RouteChange("delete root qdisc", "dev \(quoted(link))", links: [link]) { .deleteRootQdisc(linkIndex: $0[0]) }
    }
}
