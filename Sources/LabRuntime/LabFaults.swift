import LabSpec

/// The faults of `lab verify`'s scenarios, put on and taken off through `lab fault`'s library.
struct LabFaultsPending: Error, CustomStringConvertible {
    var description: String { "run-time faults are not available in this build" }
}

public struct LabFaults: ScenarioFaultApplier {
    public init() {}

    public func apply(_ fault: ScenarioFault, lab: String) throws { throw LabFaultsPending() }

    public func clear(_ faults: [ScenarioFault], lab: String) throws {}
}
