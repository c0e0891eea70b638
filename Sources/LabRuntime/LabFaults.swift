import LabKernel
import LabPlan
import LabSpec
import Synchronization

/// The faults of `lab verify`'s scenarios, put on and taken off through `lab fault`'s library
/// (`FaultController`), so a scenario's fault is exactly what `lab fault down|partition|impair`
/// would do, recorded in `faults.json` while it is on.
///
/// A fault with the same key as one already in force (`lab fault impair network/wan` before
/// the verify) replaces it while the scenario runs; clearing puts the earlier one back, so the
/// lab is as before. `FaultController` tells the supervisor of each change that moves a delay
/// line, so a delay a fault adds is served before the probes start (and a supervisor is started
/// for a lab that had none).
public final class LabFaults: ScenarioFaultApplier {
    /// What each fault a scenario put on became, by the key the scenario wrote it with: the
    /// key the controller keeps it under (targets resolved, `node/n1` for a bare `n1`), and
    /// the record it replaced, if one was in force, to be put back as it was (clocks included).
    private let applied = Mutex<[String: (key: String, replaced: FaultRecord?)]>([:])

    public init() {}

    public func apply(_ wanted: Fault, lab: String) throws {
        let controller = FaultController(lab: lab)
        let before = controller.list()
        let record = try controller.apply(wanted)
        let replaced = before.records.first { $0.fault.key == record.fault.key }
        applied.withLock { $0[wanted.key] = (record.fault.key, replaced) }
    }

    public func clear(_ faults: [Fault], lab: String) throws {
        let controller = FaultController(lab: lab)
        var failure: Error?
        for fault in faults {
            // A fault that never went on (its apply failed) has nothing to take off.
            guard let entry = applied.withLock({ $0.removeValue(forKey: fault.key) }) else { continue }
            do {
                _ = try controller.revert { $0.fault.key == entry.key }
                if let earlier = entry.replaced { try controller.restore(earlier) }
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
    }
}
