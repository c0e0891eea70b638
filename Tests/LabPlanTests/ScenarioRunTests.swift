import Testing
@testable import LabPlan

/// The order `lab verify` runs scenarios in, and that every fault put on is taken off again:
/// driven with a fake fault applier that only writes down what it is asked to do.
@Suite struct ScenarioRunTests {
    struct Refused: Error, CustomStringConvertible { var description: String { "refused" } }

    final class Log {
        var steps: [String] = []
    }

    static func run(_ scenarios: [[String]], failing: Set<String> = [], clearFails: Bool = false,
                    interruptedIn probes: Int? = nil) -> (steps: [String], outcomes: [ScenarioRun.Outcome]) {
        let log = Log()
        let outcomes = ScenarioRun.run(scenarios, starting: { log.steps.append("start \($0)") }, apply: { fault in
            if failing.contains(fault) { throw Refused() }
            log.steps.append("apply \(fault)")
        }, clear: { faults in
            log.steps.append("clear \(faults.joined(separator: ","))")
            if clearFails { throw Refused() }
        }, probes: { index in
            log.steps.append("probes \(index)")
            return index != probes
        }, finished: { log.steps.append("done \($0.scenario)") })
        return (log.steps, outcomes)
    }

    @Test func eachScenarioAppliesProbesAndClearsLastFirst() {
        let (steps, outcomes) = Self.run([["a", "b"], [], ["c"]])
        #expect(steps == ["start 0", "apply a", "apply b", "probes 0", "clear b,a", "done 0",
                          "start 1", "probes 1", "done 1",
                          "start 2", "apply c", "probes 2", "clear c", "done 2"])
        #expect(outcomes.map(\.probesRan) == [true, true, true])
        #expect(outcomes.allSatisfy { $0.applyError == nil && $0.clearError == nil && !$0.interrupted })
    }

    @Test func aFaultThatCannotBeAppliedSkipsTheProbesButClearsWhatWasApplied() {
        let (steps, outcomes) = Self.run([["a", "b", "c"], ["d"]], failing: ["b"])
        #expect(steps == ["start 0", "apply a", "clear a", "done 0", "start 1", "apply d", "probes 1", "clear d", "done 1"])
        #expect(outcomes[0] == ScenarioRun.Outcome(scenario: 0, applyError: "refused", probesRan: false))
        #expect(outcomes[1].probesRan)
    }

    @Test func aFailedClearIsReportedAndTheRunGoesOn() {
        let (steps, outcomes) = Self.run([["a"], ["b"]], clearFails: true)
        #expect(steps.filter { $0.hasPrefix("clear") } == ["clear a", "clear b"])
        #expect(outcomes.map(\.clearError) == ["refused", "refused"])
    }

    @Test func anInterruptionClearsTheFaultsAndEndsTheRun() {
        let (steps, outcomes) = Self.run([["a"], ["b"], ["c"]], interruptedIn: 1)
        #expect(steps == ["start 0", "apply a", "probes 0", "clear a", "done 0", "start 1", "apply b", "probes 1", "clear b", "done 1"])
        #expect(outcomes.map(\.interrupted) == [false, true])
    }

    @Test func aSignalWhileApplyingStopsBeforeTheProbes() {
        let log = Log()
        var applied = 0
        let outcomes = ScenarioRun.run([["a", "b"], ["c"]], apply: { fault in
            applied += 1
            log.steps.append("apply \(fault)")
        }, clear: { log.steps.append("clear \($0.joined(separator: ","))") }, probes: { _ in
            log.steps.append("probes")
            return true
        }, interrupted: { applied >= 1 })
        #expect(log.steps == ["apply a", "clear a"])
        #expect(outcomes == [ScenarioRun.Outcome(scenario: 0, probesRan: false, interrupted: true)])
    }
}
