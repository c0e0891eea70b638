import Glibc

/// The kernel's counters of its IPv4 neighbour (ARP) table, from `/proc/net/stat/arp_cache`.
/// The table is one for the whole host: every namespace's entries count against the same
/// `net.ipv4.neigh.default.gc_thresh3`, which only the root namespace can change.
///
/// The file has a header row of column names, then one row per CPU of hex numbers. `entries` is
/// the table's size (the same in every row); the other columns are per-CPU event counts, summed
/// here.
public struct NeighbourTableCounters: Sendable, Hashable {
    /// Entries in the table now, in every namespace; permanent entries included, though the
    /// kernel does not count those against its thresholds.
    public var entries: Int
    /// How often the table refused a new entry because it was full (`table_fulls`), since boot:
    /// each time, a packet waiting for that neighbour was dropped.
    public var tableFulls: Int

    public static let path = "/proc/net/stat/arp_cache"

    /// The counters now; nil when the file cannot be read or parsed.
    public static func read() -> NeighbourTableCounters? {
        readProcFile(path).flatMap(parse)
    }

    /// The counters in the text of `/proc/net/stat/arp_cache`; nil when it has no `entries`
    /// column or no data row.
    public static func parse(_ text: String) -> NeighbourTableCounters? {
        let rows = text.split(separator: "\n").map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }) }
        guard let header = rows.first, let entriesColumn = header.firstIndex(of: "entries") else { return nil }
        let fullsColumn = header.firstIndex(of: "table_fulls")
        let data = rows.dropFirst().filter { !$0.isEmpty }
        guard let first = data.first, entriesColumn < first.count, let entries = Int(first[entriesColumn], radix: 16) else { return nil }
        var tableFulls = 0
        if let fullsColumn {
            for row in data where fullsColumn < row.count {
                tableFulls += Int(row[fullsColumn], radix: 16) ?? 0
            }
        }
        return NeighbourTableCounters(entries: entries, tableFulls: tableFulls)
    }
}
