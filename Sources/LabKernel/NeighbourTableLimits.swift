/// The thresholds of the host's IPv4 neighbour table (`net.ipv4.neigh.default.gc_thresh1/2/3`),
/// one set for every namespace. Below `gc_thresh1` the garbage collector leaves entries alone;
/// above `gc_thresh2` it collects eagerly; at `gc_thresh3` the kernel refuses new entries (and
/// drops the packets that needed them). Permanent entries are exempt (since Linux 4.19).
public struct NeighbourTableLimits: Sendable, Hashable {
    public var gcThresh1: Int
    public var gcThresh2: Int
    public var gcThresh3: Int

    /// Only the root namespace shows (and may change) them.
    public static let directory = "/proc/sys/net/ipv4/neigh/default"

    /// The thresholds now; nil when they cannot be read (not in the root namespace).
    public static func read() -> NeighbourTableLimits? {
        let values = ["gc_thresh1", "gc_thresh2", "gc_thresh3"].map { readProcFile("\(directory)/\($0)").flatMap(parse) }
        guard let first = values[0], let second = values[1], let third = values[2] else { return nil }
        return NeighbourTableLimits(gcThresh1: first, gcThresh2: second, gcThresh3: third)
    }

    /// A sysctl file's number (`1024\n`).
    public static func parse(_ text: String) -> Int? {
        text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) }
    }
}
