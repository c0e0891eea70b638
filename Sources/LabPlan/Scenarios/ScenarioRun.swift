import LabSpec

/// A scenario of `lab verify` with its probes resolved against the running lab.
public struct ResolvedScenario: Sendable {
    public var name: String
    public var faults: [Fault]
    public var probes: [ResolvedProbe]

    public init(name: String, faults: [Fault], probes: [ResolvedProbe]) {
        self.name = name
        self.faults = faults
        self.probes = probes
    }

    /// The scenarios of `file` in file order, each scenario's probes resolved as the lab's own
    /// are (names generated the same way).
    public static func all(_ file: LabFile, topology: Topology) -> [ResolvedScenario] {
        file.scenarios.map { scenario in
            var only = file
            only.probes = scenario.probes
            return ResolvedScenario(name: scenario.name, faults: scenario.faults,
                                    probes: ProbeResolver.resolve(only, topology: topology))
        }
    }
}

/// The order `lab verify` runs scenarios in, and the promise that every fault it put on is taken
/// off again. Kept apart from the kernel so the order and the cleanup are tested as they are.
///
/// For each scenario in turn: its faults are applied in file order; if one cannot be, the rest
/// are not tried and the probes do not run (the scenario fails with that error). Then the
/// probes run. Then every fault that was applied is cleared, last first — also when applying
/// failed or the probes were interrupted. An interruption ends the run after that cleanup.
public enum ScenarioRun {
    public struct Outcome: Sendable, Equatable {
        public var scenario: Int
        /// Why a fault could not be applied (the probes then did not run).
        public var applyError: String?
        public var probesRan: Bool
        /// Why clearing failed: the lab may still carry a fault, which the report must say.
        public var clearError: String?
        /// The probes were stopped by a signal; no later scenario ran.
        public var interrupted: Bool

        public init(scenario: Int, applyError: String? = nil, probesRan: Bool = false, clearError: String? = nil,
                    interrupted: Bool = false) {
            self.scenario = scenario
            self.applyError = applyError
            self.probesRan = probesRan
            self.clearError = clearError
            self.interrupted = interrupted
        }
    }

    /// Runs `scenarios` (each the list of its faults). `starting(i)` is called as scenario i
    /// begins and `finished` once its faults are cleared, so a report can be written scenario
    /// by scenario. `probes(i)` runs scenario i's probes and returns false when it was
    /// interrupted; `interrupted()` is asked between steps, so a signal during a slow apply
    /// still stops the run once what was applied is cleared.
    @discardableResult
    public static func run<Fault>(_ scenarios: [[Fault]], starting: (Int) -> Void = { _ in }, apply: (Fault) throws -> Void,
                                  clear: ([Fault]) throws -> Void, probes: (Int) -> Bool, interrupted: () -> Bool = { false },
                                  finished: (Outcome) -> Void = { _ in }) -> [Outcome] {
        var outcomes: [Outcome] = []
        for (index, faults) in scenarios.enumerated() {
            if interrupted() { break }
            starting(index)
            var outcome = Outcome(scenario: index)
            var applied: [Fault] = []
            for fault in faults {
                if interrupted() {
                    outcome.interrupted = true
                    break
                }
                do {
                    try apply(fault)
                    applied.append(fault)
                } catch {
                    outcome.applyError = "\(error)"
                    break
                }
            }
            if outcome.applyError == nil, !outcome.interrupted {
                outcome.probesRan = true
                outcome.interrupted = !probes(index)
            }
            if !applied.isEmpty {
                do { try clear(applied.reversed()) } catch { outcome.clearError = "\(error)" }
            }
            if interrupted() { outcome.interrupted = true }
            outcomes.append(outcome)
            finished(outcome)
            if outcome.interrupted { break }
        }
        return outcomes
    }
}
