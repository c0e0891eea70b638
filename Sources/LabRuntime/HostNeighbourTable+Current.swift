import LabKernel
import LabPlan

extension HostNeighbourTable {
    /// The host's neighbour table now (`gc_thresh3` and the entries in use); nil when either
    /// cannot be read.
    public static func current() -> HostNeighbourTable? {
        guard let limits = NeighbourTableLimits.read(), let counters = NeighbourTableCounters.read() else { return nil }
        return HostNeighbourTable(limit: limits.gcThresh3, inUse: counters.entries)
    }
}

extension NeighbourDecision {
    /// The mode of a lab that is up, as `lab up` of its unchanged file reports it.
    static func current(of topology: Topology, host: HostNeighbourTable? = .current()) -> NeighbourDecision {
        let need = NeighbourEntries.worstCase(topology)
        return decide(setting: topology.neighbourSetting, need: need, host: host, running: (topology.neighbours, need))
    }
}
