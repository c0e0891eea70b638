import ArgumentParser
import Foundation
import Glibc
import LabProbe
import LabPlan
import LabRuntime

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a lab's probes and report; exit 1 if any fails.",
        discussion: """
        Probes run natively inside lab, thousands at once, with sockets opened inside each \
        source namespace (no ping/curl process per probe; `exec` probes run their command). \
        Each probe's line is printed as soon as it and every probe before it have finished; on \
        a terminal a progress line on stderr counts them. Ctrl-C prints the report so far and \
        exits 130 (143 for SIGTERM).

        A lab without probes is checked against the Kubernetes network model: every pod \
        reaches a pod on every node and its own node, without NAT where an agent can tell, and \
        every service reaches each of its endpoints; --all-pairs checks every pod pair.

          lab verify                          the only lab that is up
          lab verify demo --junit report.xml  JUnit XML for CI as well
          lab verify --only 'service'         probes whose name matches a regex
          lab verify --model                  the model check even if the lab has probes
          lab verify --all-pairs              the model check over every ordered pod pair
          lab verify --scenario 'node-2'      only the scenarios whose name matches (not the lab's probes)

        Scenarios (`scenarios:` in the lab file) run after the lab's probes, one at a time: \
        their faults are put on the lab, their probes run, and the faults are taken off again \
        — also when a probe fails or verify is interrupted — so the lab is as it was before. \
        Each scenario is reported as a group of its own (a JUnit testsuite per scenario).
        """
    )

    @OptionGroup var lab: LabArgument

    @Option(name: .shortAndLong, help: "Take the probes from this lab file (its lab must be up) instead of the applied one.")
    var file: String?

    @Flag(help: "Check the Kubernetes network model instead of the lab's probes.")
    var model = false

    @Flag(help: "Model check: probe every ordered pod pair, not a set covering every pod and node.")
    var allPairs = false

    @Option(name: .shortAndLong, help: "text or json.")
    var output: OutputFormat = .text

    @Option(help: "Also write the results as JUnit XML to this file.")
    var junit: String?

    @Option(help: "Run only probes whose name matches this regular expression.")
    var only: String?

    @Option(help: "Run only the scenarios whose name matches this regular expression (and not the lab's own probes).")
    var scenario: String?

    @Flag(name: .shortAndLong, help: "Print only failures and the summary.")
    var quiet = false

    @Option(help: "How many probes hold a socket at once (default: \(ProbeEngine.defaultParallelism), within the descriptor limit).")
    var parallel: Int?

    func validate() throws {
        if let parallel, parallel < 1 { throw ValidationError("--parallel must be at least 1") }
        if let only, (try? NSRegularExpression(pattern: only)) == nil { throw ValidationError("--only: \"\(only)\" is not a regular expression") }
        if let scenario, (try? NSRegularExpression(pattern: scenario)) == nil {
            throw ValidationError("--scenario: \"\(scenario)\" is not a regular expression")
        }
        if scenario != nil, model { throw ValidationError("--scenario and --model exclude each other: the model check runs no scenarios") }
    }

    func run() throws {
        let source: LabSource
        if let file {
            source = try LabSource.resolve(file)
        } else {
            let name = try lab.resolve()
            guard let text = LabState(lab: name).appliedFile() else {
                throw RuntimeError.corruptState(lab: name, reason: "no applied lab file; run lab up again")
            }
            source = LabSource(name: "\(name) (applied)", text: text)
        }
        var options = LabVerifier.Options()
        options.model = model
        options.allPairs = allPairs
        options.only = only
        options.parallel = parallel
        options.scenario = scenario
        let plan = try LabVerifier.plan(text: source.text, file: source.name, options: options)
        if let scenario, plan.scenarios.isEmpty {
            throw ValidationError("--scenario: no scenario of lab \(plan.lab) matches \"\(scenario)\"")
        }
        let exitCode = try report(plan)
        if exitCode != 0 { throw ExitCode(exitCode) }
    }

    /// Runs the plan, printing as results come; the exit code (0, 1 if a probe failed, 128 +
    /// the signal if interrupted).
    private func report(_ plan: LabVerifier.Plan) throws -> Int32 {
        let out = TerminalOutput()
        if output == .text {
            if let coverage = plan.coverage { out.print(coverage + "\n") }
            if plan.modelCheck && !model { out.print("lab \(plan.lab) has no probes: checking the Kubernetes network model\n") }
        }
        let suite = "lab verify \(plan.lab)"
        let ownProbes = !plan.tasks.isEmpty || plan.scenarios.isEmpty
        let stream = ProbeReportStream(tasks: plan.tasks, options: .init(quiet: quiet, json: output == .json,
                                                                         junitSuite: junit == nil ? nil : suite)) { out.print($0) }
        let started = Date()
        var streams = [stream]
        let progress = { (final: Bool) in
            let seconds = Date().timeIntervalSince(started)
            let done = streams.reduce(0) { $0 + $1.done }, total = streams.reduce(0) { $0 + $1.total }
            let failed = streams.reduce(0) { $0 + $1.failed }
            out.progress("\(NumberText.grouped(done))/\(NumberText.grouped(total)) probes · \(NumberText.grouped(failed)) failed · \(String(format: "%.1f", seconds)) s", final: final)
        }
        let signals = SignalPipe(SIGINT, SIGTERM)
        var completed = true
        if ownProbes {
            completed = LabVerifier.run(plan, stop: signals.reader, tick: { progress(false) }) { index, result in
                stream.record(index, result)
            }
            progress(true)
            stream.finish()
        }

        // Scenarios, each a group of its own: its faults are on only while its probes run.
        var outcomes: [ScenarioRun.Outcome] = []
        if completed, !plan.scenarios.isEmpty {
            outcomes = LabVerifier.runScenarios(plan, faults: LabFaults(), stop: signals.reader, tick: { progress(false) },
                                                starting: { index in
                let scenario = plan.scenarios[index]
                if output == .text {
                    let faults = scenario.faults.map(\.summary).joined(separator: ", ")
                    out.print("\nscenario \"\(scenario.name)\"\(faults.isEmpty ? "" : ": \(faults)")\n")
                }
                streams.append(ProbeReportStream(tasks: scenario.tasks, options: .init(
                    quiet: quiet, json: output == .json, junitSuite: junit == nil ? nil : "\(suite): \(scenario.name)")) { out.print($0) })
            }, onResult: { _, index, result in
                streams[streams.count - 1].record(index, result)
            }, finished: { outcome in
                let scenarioStream = streams[streams.count - 1]
                if let error = outcome.applyError { scenarioStream.recordStepFailure("apply faults", error) }
                if let error = outcome.clearError { scenarioStream.recordStepFailure("clear faults", error + "; the lab may still carry them: lab fault clear") }
                progress(true)
                scenarioStream.finish()
            })
            completed = !(outcomes.last?.interrupted ?? false)
        }
        signals.restore()
        progress(true)
        if output == .text, !outcomes.isEmpty {
            let passed = streams.reduce(0) { $0 + $1.passed }, failed = streams.reduce(0) { $0 + $1.failed }
            out.print("\nall: \(ProbeTextReport.summary(passed: passed, failed: failed)) (the lab's probes and \(outcomes.count) scenario\(outcomes.count == 1 ? "" : "s"))\n")
        }
        out.flush()
        try writeDocuments(plan, streams: streams, outcomes: outcomes, ownProbes: ownProbes, started: started, out: out)
        if !completed { return 128 + signals.received }
        return streams.contains { $0.failed > 0 } ? 1 : 0
    }

    /// The JSON document on stdout and the JUnit file, when asked for: the lab's probes
    /// (`streams[0]`) alone, or with a part per scenario.
    private func writeDocuments(_ plan: LabVerifier.Plan, streams: [ProbeReportStream], outcomes: [ScenarioRun.Outcome],
                                ownProbes: Bool, started: Date, out: TerminalOutput) throws {
        let stream = streams[0]
        if output == .json {
            if outcomes.isEmpty {
                stream.json { out.write($0) }
            } else {
                let scenarios = outcomes.enumerated().map { position, outcome in
                    (name: plan.scenarios[outcome.scenario].name, faults: plan.scenarios[outcome.scenario].faults.map(\.summary),
                     applyError: outcome.applyError, clearError: outcome.clearError, report: streams[position + 1].json())
                }
                out.write(Array(ProbeJSONReport.withScenarios(stream.json(), scenarios).utf8))
            }
        }
        if let junit {
            let seconds = Date().timeIntervalSince(started)
            if outcomes.isEmpty {
                try Self.writeJUnit({ stream.junit(seconds: seconds, write: $0) }, to: junit)
            } else {
                let documents = (ownProbes ? [stream] : []).map { $0.junit(seconds: seconds) } + streams.dropFirst().map { $0.junit(seconds: seconds) }
                let text = ProbeJUnitReport.suites(documents)
                try Self.writeJUnit({ $0(text) }, to: junit)
            }
        }
    }

    /// Writes the JUnit file a testcase at a time to a temporary file beside it, then renames
    /// it into place, so a reader never sees half a file.
    private static func writeJUnit(_ produce: ((String) -> Void) -> Void, to path: String) throws {
        let temporary = path + ".lab-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let file = FileHandle(forWritingAtPath: temporary) else {
            throw RuntimeError.io(operation: "create", path: temporary, errno: errno)
        }
        var failure: Error?
        var buffer = ""
        produce { piece in
            buffer += piece
            guard buffer.utf8.count >= 1 << 16, failure == nil else { return }
            do { try file.write(contentsOf: Data(buffer.utf8)) } catch { failure = error }
            buffer = ""
        }
        do {
            if failure == nil { try file.write(contentsOf: Data(buffer.utf8)) }
            try file.close()
        } catch { failure = failure ?? error }
        if let failure {
            unlink(temporary)
            throw failure
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw RuntimeError.io(operation: "rename", path: path, errno: code)
        }
    }

}

/// stdout with its own buffer, flushed when the progress line is redrawn (at most ten times a
/// second) and at the end, and a progress line on stderr only when stderr is a terminal: the
/// line is cleared before report lines are written under it, then drawn again.
private final class TerminalOutput {
    private var pending = ""
    private let onTerminal = isatty(STDERR_FILENO) == 1
    private var shown = false

    func print(_ text: String) { pending += text }

    func progress(_ line: String, final: Bool) {
        if onTerminal, shown {
            Self.write(Array("\r\u{1B}[K".utf8)[...], to: STDERR_FILENO)
            shown = false
        }
        flush()
        guard onTerminal, !final else { return }
        Self.write(Array(line.utf8)[...], to: STDERR_FILENO)
        shown = true
    }

    func flush() {
        guard !pending.isEmpty else { return }
        Self.write(Array(pending.utf8)[...], to: STDOUT_FILENO)
        pending = ""
    }

    /// Bytes straight to stdout (after whatever is pending).
    func write(_ bytes: [UInt8]) {
        flush()
        Self.write(bytes[...], to: STDOUT_FILENO)
    }

    /// All of `bytes`, past short writes and EINTR; a closed pipe ends the attempt.
    private static func write(_ bytes: ArraySlice<UInt8>, to fd: Int32) {
        var bytes = bytes
        while !bytes.isEmpty {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return
            }
            bytes = bytes.dropFirst(count)
        }
    }
}

/// SIGINT and SIGTERM turned into a readable pipe (the probe loop's stop descriptor) for as
/// long as it is installed: the handler only writes a byte, which is async-signal-safe.
private final class SignalPipe {
    let reader: Int32
    private let signals: [Int32]

    init(_ signals: Int32...) {
        self.signals = signals
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) == 0 {
            _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
            _ = fcntl(ends[1], F_SETFL, O_NONBLOCK)
        }
        reader = ends[0]
        signalPipeWriter = ends[1]
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                signalReceived = number
                var byte: UInt8 = 1
                _ = write(signalPipeWriter, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
        // A parent may have started us with them blocked (a blocked mask is inherited across
        // exec); threads started from here on, the probe loop's among them, inherit this.
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in signals { sigaddset(&mask, signal) }
        pthread_sigmask(SIG_UNBLOCK, &mask, nil)
    }

    /// The signal that arrived (0 if none).
    var received: Int32 { signalReceived }

    /// Back to the default actions; the pipe is closed.
    func restore() {
        for signal in signals { Glibc.signal(signal, SIG_DFL) }
        close(reader)
        close(signalPipeWriter)
    }
}

// Written by the signal handler, which can capture nothing.
nonisolated(unsafe) private var signalPipeWriter: Int32 = -1
nonisolated(unsafe) private var signalReceived: Int32 = 0
