import LabSpec

/// What the host's neighbour table looks like when a lab is built: how many entries it may hold
/// (`gc_thresh3`, one limit for every namespace) and how many it holds now. Read by the runtime;
/// plain numbers here so the decision stays pure.
public struct HostNeighbourTable: Sendable, Hashable {
    /// `net.ipv4.neigh.default.gc_thresh3`: above it the kernel refuses new entries.
    public var limit: Int
    /// Entries in use now, in every namespace (`/proc/net/stat/arp_cache`).
    public var inUse: Int

    /// The kernel's default `gc_thresh3`, assumed when the host's table cannot be read.
    public static let kernelDefaultLimit = 1024

    public init(limit: Int, inUse: Int) {
        self.limit = limit
        self.inUse = inUse
    }
}

/// The neighbour mode a lab is built with, and why (`lab up` prints it).
///
/// `auto` chooses `arp` while the lab's worst case (`NeighbourEntries.worstCase`) plus what the
/// host's table holds already stays within half of its limit — the rest is headroom for the
/// host and for other labs — and `static` otherwise. The choice is made when the lab is built
/// and kept while it is up: a changed file keeps it, unless the lab now may need more entries
/// than it did and they no longer fit, which makes it `static` (never back: `static` is always
/// safe, and the entries in use then include the lab's own).
public struct NeighbourDecision: Sendable, Hashable {
    public enum Reason: String, Sendable, Hashable {
        /// `cluster.neighbours` names the mode.
        case file
        /// `auto`, and the worst case fits.
        case fits
        /// `auto`, and the worst case does not fit.
        case overflows
        /// `auto` on a lab that is up: the mode it was built with.
        case kept
        /// `lab up` of the file a lab is up from: nothing was decided again.
        case unchanged
    }

    /// `arp` or `static`.
    public var mode: NeighbourMode
    public var reason: Reason
    /// The lab's worst case.
    public var need: Int
    /// nil when the host's table could not be read (the kernel's default limit was assumed).
    public var host: HostNeighbourTable?

    /// The decision for a lab whose worst case is `need`. `running`: the mode and worst case of
    /// the lab as it is up, if it is.
    public static func decide(setting: NeighbourMode, need: Int, host: HostNeighbourTable?,
                              running: (mode: NeighbourMode, need: Int)? = nil) -> NeighbourDecision {
        switch setting {
        case .arp, .static:
            return NeighbourDecision(mode: setting, reason: .file, need: need, host: host)
        case .auto:
            if let running, running.mode == .static || need <= running.need {
                return NeighbourDecision(mode: running.mode, reason: .kept, need: need, host: host)
            }
            let fits = fitsComfortably(need: need, host: host)
            return NeighbourDecision(mode: fits ? .arp : .static, reason: fits ? .fits : .overflows, need: need, host: host)
        }
    }

    /// The mode of a lab that is up from the very file `lab up` was given: as it was built,
    /// without reading the host's table.
    public static func unchanged(_ topology: Topology) -> NeighbourDecision {
        NeighbourDecision(mode: topology.neighbours, reason: .unchanged, need: NeighbourEntries.worstCase(topology), host: nil)
    }

    /// Whether `need` more entries keep the table within half of its limit.
    public static func fitsComfortably(need: Int, host: HostNeighbourTable?) -> Bool {
        let table = host ?? HostNeighbourTable(limit: HostNeighbourTable.kernelDefaultLimit, inUse: 0)
        return need + table.inUse <= table.limit / 2
    }

    /// `static (the lab may need 2,340 entries; the host's table holds 1,024, 12 in use)`.
    public var explanation: String {
        let numbers = "the lab may need \(NumberText.grouped(need)) entr\(need == 1 ? "y" : "ies"); " + hostText
        switch reason {
        case .fits, .overflows:
            return "\(mode.rawValue) (\(numbers))"
        case .kept:
            return "\(mode.rawValue) (auto, kept from when the lab was built; \(numbers))"
        case .unchanged:
            return "\(mode.rawValue) (as the lab was built; it may need \(NumberText.grouped(need)) entr\(need == 1 ? "y" : "ies"))"
        case .file where mode == .static:
            return "static (cluster.neighbours; \(NumberText.grouped(need)) permanent entr\(need == 1 ? "y" : "ies"))"
        case .file:
            if !Self.fitsComfortably(need: need, host: host) {
                return "arp (cluster.neighbours; \(numbers): probes may fail when the table is full; static avoids it)"
            }
            return "arp (cluster.neighbours; \(numbers))"
        }
    }

    private var hostText: String {
        guard let host else {
            return "the host's table could not be read, so its default of \(NumberText.grouped(HostNeighbourTable.kernelDefaultLimit)) was assumed"
        }
        return "the host's table holds \(NumberText.grouped(host.limit)), \(NumberText.grouped(host.inUse)) in use"
    }

}
