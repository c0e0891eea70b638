import Testing
@testable import LabKernel

/// The host's neighbour-table counters and thresholds, parsed from /proc text.
@Suite struct NeighbourTableCountersTests {
    /// Two CPUs, as on the machine the issue was measured on: `entries` is the table's (the same
    /// in every row); `table_fulls` counts per CPU.
    static let sample = """
    entries  allocs   destroys hash_grows lookups  hits     res_failed rcv_probes_mcast rcv_probes_ucast periodic_gc_runs forced_gc_runs unresolved_discards table_fulls
    000003f9 0000a1b2 00009dc4 00000004   0002c3f0 00027c11 00000012   00000000         00000000         00000b36         0000001e       00000003            0000002a
    000003f9 00000311 000002f0 00000000   00001f00 00001e10 00000000   00000000         00000000         00000000         00000002       00000000            00000005

    """

    @Test func entriesComeFromTheFirstRowAndTableFullsAreSummedOverCPUs() throws {
        let counters = try #require(NeighbourTableCounters.parse(Self.sample))
        #expect(counters.entries == 0x3f9)
        #expect(counters.tableFulls == 0x2a + 0x5)
    }

    @Test func columnsAreFoundByNameNotPosition() throws {
        let text = "table_fulls entries\n00000001 00000010\n00000002 00000010\n"
        #expect(NeighbourTableCounters.parse(text) == NeighbourTableCounters(entries: 16, tableFulls: 3))
    }

    @Test func anOlderKernelWithoutTableFullsStillGivesTheEntries() {
        #expect(NeighbourTableCounters.parse("entries  allocs\n00000002 00000002\n") == NeighbourTableCounters(entries: 2, tableFulls: 0))
    }

    @Test func textThatIsNotTheTableGivesNothing() {
        #expect(NeighbourTableCounters.parse("") == nil)
        #expect(NeighbourTableCounters.parse("entries allocs\n") == nil)
        #expect(NeighbourTableCounters.parse("allocs\n00000001\n") == nil)
        #expect(NeighbourTableCounters.parse("entries\nzz\n") == nil)
    }

    @Test func thisHostsTableCanBeRead() throws {
        let counters = try #require(NeighbourTableCounters.read())
        #expect(counters.entries >= 0)
        let limits = try #require(NeighbourTableLimits.read())
        #expect(limits.gcThresh1 <= limits.gcThresh2 && limits.gcThresh2 <= limits.gcThresh3)
    }

    @Test func sysctlNumbersParse() {
        #expect(NeighbourTableLimits.parse("1024\n") == 1024)
        #expect(NeighbourTableLimits.parse("  128 ") == 128)
        #expect(NeighbourTableLimits.parse("") == nil)
        #expect(NeighbourTableLimits.parse("many") == nil)
    }
}
