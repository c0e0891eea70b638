import LabKernel
import LabPlan

extension HostNeighbourTable {
    /// The host's neighbour table now (`gc_thresh3` and the entries that count against it);
    /// nil when either cannot be read.
    ///
    /// The kernel's count includes permanent entries, which `gc_thresh3` does not limit; the
    /// ones labs that are up made themselves are known and taken off, so a `static` lab of
    /// 100,000 entries does not push every other lab to `static` too.
    public static func current() -> HostNeighbourTable? {
        guard let limits = NeighbourTableLimits.read(), let counters = NeighbourTableCounters.read() else { return nil }
        let permanent = LabState.labs().compactMap { try? LabState(lab: $0).topology() }
            .reduce(0) { $0 + NeighbourEntries.permanent(in: $1) }
        return HostNeighbourTable(limit: limits.gcThresh3, inUse: max(0, counters.entries - permanent))
    }
}
