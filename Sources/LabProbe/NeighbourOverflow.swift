import LabKernel

extension NeighbourTableCounters {
    /// The reason a probe that lost its packets while the host's table overflowed gives first:
    /// the lab did not necessarily do anything wrong, the host dropped them.
    public static func overflowReason(hardLimit: Int?) -> String {
        let limit = hardLimit.map { "gc_thresh3 \($0)" } ?? "gc_thresh3"
        return "host neighbour table full (\(limit)): the lab needs cluster.neighbours: static, or raise net.ipv4.neigh.default.gc_thresh3"
    }
}
