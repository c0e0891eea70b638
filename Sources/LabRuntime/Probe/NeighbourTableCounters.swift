import Foundation

/// The host's IPv4 neighbour (ARP) table as `/proc/net/stat/arp_cache` counts it. The table is
/// one for the whole host: every namespace's entries count against the root namespace's
/// `net.ipv4.neigh.default.gc_thresh3`, and once it is full new entries are refused
/// (`table_fulls`) and packets to unresolved neighbours are dropped.
public struct NeighbourTableCounters: Sendable, Hashable {
    /// Entries in use now (the same in every row: the table is one).
    public var entries: Int
    /// Times an entry was refused because the table was full, summed over the CPUs' rows.
    public var tableFulls: Int

    public init(entries: Int, tableFulls: Int) {
        self.entries = entries
        self.tableFulls = tableFulls
    }

    /// Parses the file: a header row naming the columns, then one row of hex numbers per CPU.
    /// Nil when the header lacks `entries` or `table_fulls` or no row can be read.
    public static func parse(_ text: String) -> NeighbourTableCounters? {
        let lines = text.split(separator: "\n").map { $0.split(whereSeparator: \.isWhitespace) }
        guard let header = lines.first,
              let entriesColumn = header.firstIndex(of: "entries"),
              let fullsColumn = header.firstIndex(of: "table_fulls") else { return nil }
        var entries: Int?
        var fulls = 0
        for row in lines.dropFirst() where row.count == header.count {
            guard let rowEntries = Int(row[entriesColumn], radix: 16),
                  let rowFulls = Int(row[fullsColumn], radix: 16) else { return nil }
            entries = entries ?? rowEntries
            fulls += rowFulls
        }
        return entries.map { NeighbourTableCounters(entries: $0, tableFulls: fulls) }
    }

    /// The host's counters now; nil where the file cannot be read.
    public static func read(path: String = "/proc/net/stat/arp_cache") -> NeighbourTableCounters? {
        (try? String(contentsOfFile: path, encoding: .utf8)).flatMap(parse)
    }

    /// `net.ipv4.neigh.default.gc_thresh3` of the root namespace (the host's hard limit).
    public static func hardLimit(path: String = "/proc/sys/net/ipv4/neigh/default/gc_thresh3") -> Int? {
        (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// The reason a probe that failed while the table overflowed gives first: the lab did not
    /// necessarily do anything wrong, the host dropped its packets.
    public static func overflowReason(hardLimit: Int?) -> String {
        let limit = hardLimit.map { "gc_thresh3 \($0)" } ?? "gc_thresh3"
        return "host neighbour table full (\(limit)): the lab needs cluster.neighbours: static, or raise net.ipv4.neigh.default.gc_thresh3"
    }
}
