import LabSpec

/// What `lab verify` needs to put a scenario's faults on a lab that is up and take them off
/// again: the run-time faults of `lab fault`, behind a protocol so the scenario runner's order
/// and cleanup can be tested without a kernel.
public protocol ScenarioFaultApplier: Sendable {
    /// Puts `fault` on `lab` (as `lab fault down|partition|impair …` would).
    func apply(_ fault: Fault, lab: String) throws
    /// Takes `faults` off `lab` again, in the order given (the last applied first), so the
    /// lab is exactly as before the scenario.
    func clear(_ faults: [Fault], lab: String) throws
}
