/// `scenarios:`: what `lab verify` does after the lab's own probes, one scenario at a time —
/// put the scenario's faults on the lab, run its probes, take the faults off again (also when a
/// probe fails or verify is interrupted), so the lab is as before.
///
/// A fault is the very `Fault` of `lab fault`, written as a mapping:
/// `{down: node/node-2, notReadyAfter: 0s}`, `{partition: [rack-1, rack-2]}`,
/// `{impair: network/wan, delay: 100ms}`.
public struct ScenarioSpec: Sendable {
    public var name: String
    public var faults: [Fault]
    public var probes: [ProbeSpec]

    public init(name: String, faults: [Fault] = [], probes: [ProbeSpec] = []) {
        self.name = name
        self.faults = faults
        self.probes = probes
    }
}
