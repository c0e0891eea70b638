import Foundation
import LabKernel
import LabPlan
import LabSpec

/// Faults at run time, for one lab that is up: the library behind `lab fault …`, the
/// supervisor's timers and `lab verify`'s scenarios.
///
/// Every change is one `FaultPlan.transition` from the faults in force to the next set,
/// applied under the lab's lock (so it never interleaves with `up` or `down`), then recorded
/// in `faults.json`. The supervisor reverts a fault given `--for` and takes a node's pods out of
/// the services after its grace period (`advance`); it learns of new deadlines by a reload.
public struct FaultController: Sendable {
    public let lab: String
    let state: LabState

    public init(lab: String) {
        self.lab = lab
        state = LabState(lab: lab)
    }

    /// The faults in force (none when the lab has no `faults.json`).
    public func list() -> FaultSet { Self.load(state) }

    /// Puts `fault` in force, replacing one with the same key (`down node/n1` again restarts
    /// its clocks). Returns the record as kept, targets resolved.
    @discardableResult
    public func apply(_ fault: Fault, now: Date = Date()) throws -> FaultRecord {
        var applied: FaultRecord?
        try change { current, topology in
            let record = FaultRecord(fault: try FaultPlan.resolve(fault, in: topology), since: now.timeIntervalSince1970)
            applied = record
            return current.replacing(with: record)
        }
        return applied!
    }

    /// Puts a record back as it was (its clocks unchanged), replacing one with the same key:
    /// a fault a scenario replaced, once the scenario is over.
    public func restore(_ record: FaultRecord) throws {
        try change { current, _ in current.replacing(with: record) }
    }

    /// Reverts the faults `matches` picks among those in force; returns them. `lab fault up
    /// node/n1` is `revert { $0.fault.key == "down node/n1" }`.
    @discardableResult
    public func revert(where matches: @escaping @Sendable (FaultRecord) -> Bool) throws -> [FaultRecord] {
        var removed: [FaultRecord] = []
        try change { current, _ in
            removed = current.records.filter(matches)
            return current.removing(where: matches)
        }
        return removed
    }

    /// `lab fault up TARGET`: the `down` fault on the target (named as for `down`) reverted.
    /// Nothing in force on it is an error that says what is.
    @discardableResult
    public func up(_ target: String) throws -> [FaultRecord] {
        let topology = try runningTopology()
        let key = try FaultPlan.resolve(try Fault.down(target), in: topology).key
        let removed = try revert { $0.fault.key == key }
        if removed.isEmpty { throw FaultInputError("\(key.dropFirst("down ".count)) is not down in lab \(lab)" + inForce()) }
        return removed
    }

    /// `lab fault clear [TARGET]`: every fault, or those naming `target` (a pod, node, host or
    /// network, as the faults name it), reverted; the file's impairments are back.
    @discardableResult
    public func clear(target: String? = nil) throws -> [FaultRecord] {
        guard let target else { return try revert { _ in true } }
        let current = list()
        let names = Set(current.records.flatMap(\.fault.targets))
        let qualified = names.first { $0 == target } ?? names.first { $0.hasSuffix("/\(target)") } ?? target
        // A partition names its networks bare; `network/rack-1` means it too.
        let network = target.hasPrefix("network/") ? String(target.dropFirst("network/".count)) : qualified
        let removed = try revert { record in
            record.fault.targets.contains(qualified) || (record.fault.kind == .partition && record.fault.targets.contains(network))
        }
        if removed.isEmpty {
            throw FaultInputError("no fault in force in lab \(lab) names \"\(target)\"\(FaultPlan.hint(target, names.sorted()))" + inForce())
        }
        return removed
    }

    /// The supervisor's turn: expired faults reverted, grace periods that ended acted on.
    /// Returns the next deadline. Throws `RuntimeError.busy` when `up`, `down` or a `lab fault`
    /// holds the lock (the supervisor tries again shortly).
    public func advance(now: Date = Date()) throws -> Double? {
        // The supervisor is the caller: it reads the next deadline from the answer, not from a
        // reload it would have to send itself.
        try change(lockTimeout: 0, notify: false) { current, _ in current.advanced(to: now.timeIntervalSince1970) }
        return list().nextDeadline
    }

    /// `(faults in force: …)`, or nothing when there are none.
    private func inForce() -> String {
        let keys = list().records.map(\.fault.key)
        return keys.isEmpty ? " (no fault is in force)" : " (in force: \(keys.joined(separator: "; ")))"
    }

    /// The lab's topology, if it is up and intact; else the error a fault on it gets.
    func runningTopology() throws -> Topology {
        guard let topology = LabController.intactTopology(state) else {
            throw FaultInputError("lab \(lab) is not up (or is damaged: `lab up` rebuilds it); faults need a lab that is up")
        }
        return topology
    }

    /// Moves the lab from the faults in force to `next(current, topology)`, under the lock:
    /// 1. the transition's operations applied (tolerating what exists, as a reconcile does);
    ///    on a failure, what was applied is taken back as far as it goes, and nothing recorded;
    /// 2. the new set recorded;
    /// 3. the supervisor told, when a deadline or a delay line is new or gone (started if none
    ///    runs); a delay line it could not bind takes the change back (4.).
    private func change(lockTimeout: Double = LabLock.timeoutFromEnvironment, notify: Bool = true,
                        _ next: (FaultSet, Topology) throws -> FaultSet) throws {
        try Privileges.check()
        let lock = try LabLock(path: state.lockPath, timeout: lockTimeout)
        defer { withExtendedLifetime(lock) {} }
        let topology = try runningTopology()
        let current = list()
        let target = try next(current, topology)
        guard target != current else { return }
        // 1.
        try Self.move(topology, from: current, to: target, state: state)
        // 2.
        try Self.save(target, state)
        // 3.
        guard notify, let report = try Self.tellSupervisor(state, topology, from: current, to: target) else { return }
        // 4. A delay the supervisor could not bind would drop every packet it was to delay:
        //    the change is taken back and the failure said.
        if let unbound = Self.newlyUnboundDelayLine(report, topology, from: current, to: target) {
            try Self.move(topology, from: target, to: current, state: state)
            try Self.save(current, state)
            _ = try Self.tellSupervisor(state, topology, from: target, to: current)
            throw RuntimeError.delayLineUnbound(lab: lab, object: unbound.object, netns: unbound.netns, queue: unbound.queue,
                                                reason: unbound.error ?? "")
        }
    }

    /// A delay line of `target` that `current` did not have and the supervisor reports unbound.
    static func newlyUnboundDelayLine(_ report: SupervisorReport, _ topology: Topology, from current: FaultSet,
                                      to target: FaultSet) -> DelayLineStatus? {
        let before = Set(ImpairmentPlan.delayQueues(FaultPlan.withImpairments(topology, current)).map { "\($0.netns) \($0.queue)" })
        return report.delayLines?.first { $0.error != nil && !before.contains("\($0.netns) \($0.queue)") }
    }

    /// Before a reconciling `up`: the faults in force are taken out (the change is worked out
    /// for the lab as the file has it) and no longer recorded; `resume` puts them back.
    static func suspend(_ topology: Topology, state: LabState) throws -> FaultSet {
        let set = load(state).advanced(to: Date().timeIntervalSince1970)
        guard !set.isEmpty else { return set }
        try move(topology, from: load(state), to: FaultSet(), state: state)
        try save(FaultSet(), state)
        return set
    }

    /// After a reconciling `up`: the suspended faults whose targets the changed lab still has
    /// are put back (with their clocks), the others dropped; `up` says which on stderr.
    static func resume(_ set: FaultSet, on topology: Topology, state: LabState) {
        guard !set.isEmpty else { return }
        var kept = FaultSet(), dropped: [String] = []
        for var record in set.records {
            if let resolved = try? FaultPlan.resolve(record.fault, in: topology), resolved.key == record.fault.key {
                record.fault = resolved
                kept.records.append(record)
            } else {
                dropped.append(record.fault.key)
            }
        }
        do {
            try move(topology, from: FaultSet(), to: kept, state: state)
            try save(kept, state)
            // The change's reload showed the supervisor no fault at all.
            try tellSupervisor(state, topology, from: FaultSet(), to: kept)
        } catch {
            ErrorReportingNotice.print("the run-time faults could not be put back after the change (\(error)); none is in force now")
            return
        }
        var notice: [String] = []
        if !kept.isEmpty { notice.append("kept \(kept.records.count) run-time fault\(kept.records.count == 1 ? "" : "s") (\(kept.records.map(\.fault.key).joined(separator: "; ")))") }
        if !dropped.isEmpty { notice.append("dropped \(dropped.count) whose target is gone (\(dropped.joined(separator: "; ")))") }
        ErrorReportingNotice.print(notice.joined(separator: "; ") + "; lab fault list shows them")
    }

    /// Applies the transition between two sets on `topology`; a failure takes back what it can.
    static func move(_ topology: Topology, from current: FaultSet, to target: FaultSet, state: LabState) throws {
        let operations = FaultPlan.transition(topology, from: current, to: target)
        guard !operations.isEmpty else { return }
        let plan = Plan(lab: topology.lab, operations: operations, incremental: true)
        try Privileges.checkTools(for: plan)
        do {
            try apply(plan, state: state)
        } catch {
            let back = FaultPlan.transition(topology, from: target, to: current)
            for operation in back {
                try? apply(Plan(lab: topology.lab, operations: [operation], incremental: true), state: state)
            }
            throw error
        }
    }

    private static func apply(_ plan: Plan, state: LabState) throws {
        // Fault rules are kept apart from `rules/`, which holds each node's rules as the file
        // has them.
        let applier = Applier(journal: state.journal(), rulesDirectory: state.faultRulesDirectory)
        applier.toleratesExisting = true
        defer { applier.close() }
        try applier.apply(plan)
    }

    /// The supervisor keeps the fault clocks and serves the delay lines. When a change of
    /// `faults.json` moves a deadline or a delay line, the running one reloads (and so re-reads
    /// it), and one is started where the new set needs it (a delay on a lab without one: the
    /// link would drop instead). This is how a supervisor hears of faults it did not change
    /// itself (`advance`).
    /// Returns the supervisor's report after it converged, nil when it was not told or has
    /// nothing left to do.
    @discardableResult
    static func tellSupervisor(_ state: LabState, _ topology: Topology, from old: FaultSet, to new: FaultSet) throws -> SupervisorReport? {
        let queues = { (set: FaultSet) in ImpairmentPlan.delayQueues(FaultPlan.withImpairments(topology, set)) }
        guard old.nextDeadline != new.nextDeadline || queues(old) != queues(new) else { return nil }
        guard SupervisorProcess.running(lab: state.lab, state: state) != nil || Supervisor.isNeeded(for: topology, faults: new) else {
            return nil
        }
        return try SupervisorProcess.reload(lab: state.lab, state: state)
    }

    static func load(_ state: LabState) -> FaultSet {
        guard let data = FileManager.default.contents(atPath: state.faultsPath) else { return FaultSet() }
        return (try? JSONDecoder().decode(FaultSet.self, from: data)) ?? FaultSet()
    }

    static func save(_ set: FaultSet, _ state: LabState) throws {
        if set.isEmpty {
            unlink(state.faultsPath)
            try? FileManager.default.removeItem(atPath: state.faultRulesDirectory)
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(set).write(to: URL(fileURLWithPath: state.faultsPath), options: .atomic)
    }
}

extension LabState {
    /// The faults in force (`FaultSet`), absent when there are none.
    public var faultsPath: String { "\(directory)/faults.json" }
    /// The rules fault changes loaded, as loaded.
    var faultRulesDirectory: String { "\(directory)/fault-rules" }
}
