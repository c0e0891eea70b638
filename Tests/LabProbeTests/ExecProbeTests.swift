import LabPlan
@testable import LabProbe
import Testing

/// Exec probes run the command in the source namespace (here: ours).
struct ExecProbeTests {
    func exec(_ argv: [String], expect: ProbeExpectation = ProbeExpectation(), timeout: Duration = .seconds(5)) -> ProbeResult {
        probe(ProbeTask(name: "exec", from: "here", to: "", endpoint: nil, action: .exec(argv), expectation: expect,
                        timeout: timeout, retries: 0))
    }

    @Test func exitZeroPasses() {
        let result = exec(["sh", "-c", "echo ok"])
        #expect(result.passed)
        #expect(result.tries.map(\.exitStatus) == [0])
        #expect(result.tries.map(\.output) == ["ok\n"])
        #expect(result.observed == "exit 0, output \"ok\"")
    }

    @Test func aNonZeroExitFailsAndKeepsTheOutput() {
        let result = exec(["sh", "-c", "echo broken >&2; exit 3"])
        #expect(result.tries.map(\.outcome) == [.exited])
        #expect(result.tries.map(\.output) == ["broken\n"])
        #expect(result.explanation == "expected exit status 0, got exit 3")
        #expect(exec(["false"], expect: ProbeExpectation(reach: false)).passed)
    }

    @Test func aMissingProgramCannotRun() {
        let result = exec(["no-such-program-for-lab"])
        #expect(result.tries.map(\.outcome) == [.error])
        #expect(result.explanation?.hasPrefix("could not probe: no-such-program-for-lab: command not found") == true)
    }

    @Test func aCommandThatClosesItsOutputEarlyIsWaitedForUntilItExits() {
        // The output ends first; the exit comes 300 ms later (the pidfd's event).
        let result = exec(["sh", "-c", "echo early; exec >&- 2>&-; sleep 0.3; exit 4"])
        #expect(result.tries.map(\.exitStatus) == [4])
        #expect(result.tries.map(\.output) == ["early\n"])
        let elapsed = result.tries.first?.elapsedMilliseconds ?? 0
        #expect(elapsed >= 300 && elapsed < 1000, "took \(elapsed) ms")
    }

    @Test func aCommandThatOutlivesTheTimeoutIsKilled() {
        let result = exec(["sleep", "5"], timeout: .milliseconds(300))
        #expect(result.tries.map(\.outcome) == [.timeout])
        let elapsed = result.tries.first?.elapsedMilliseconds ?? 0
        #expect(elapsed >= 300 && elapsed < 1000, "took \(elapsed) ms")
    }
}
