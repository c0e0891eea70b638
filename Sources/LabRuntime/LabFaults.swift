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
    /// Faults in force before a scenario replaced them, by key.
    private let replaced = Mutex<[String: Fault]>([:])

    public init() {}

    public func apply(_ wanted: Fault, lab: String) throws {
        let controller = FaultController(lab: lab)
        let before = controller.list().records.first { $0.fault.key == wanted.key }
        _ = try controller.apply(wanted)
        if let before { replaced.withLock { $0[before.fault.key] = before.fault } }
    }

    public func clear(_ faults: [Fault], lab: String) throws {
        let controller = FaultController(lab: lab)
        var failure: Error?
        for fault in faults {
            do {
                let key = fault.key
                // Resolved keys name the target as the lab does (`node/n1` for a bare `n1`).
                let records = controller.list().records.filter { $0.fault.key == key || Self.sameTarget($0.fault, fault) }
                let keys = Set(records.map(\.fault.key))
                _ = try controller.revert { keys.contains($0.fault.key) }
                for key in keys {
                    if let earlier = replaced.withLock({ $0.removeValue(forKey: key) }) { _ = try controller.apply(earlier) }
                }
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
    }

    /// Whether `recorded` (as the controller keeps it, targets resolved) is the fault the
    /// scenario wrote (perhaps with a bare name).
    static func sameTarget(_ recorded: Fault, _ wanted: Fault) -> Bool {
        guard recorded.kind == wanted.kind else { return false }
        let bare = { (target: String) in target.split(separator: "/").last.map(String.init) ?? target }
        return recorded.targets.map(bare) == wanted.targets.map(bare)
    }
}
