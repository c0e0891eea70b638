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

    @Flag(name: .shortAndLong, help: "Print only failures and the summary.")
    var quiet = false

    @Option(help: "How many probes hold a socket at once (default: \(ProbeEngine.defaultParallelism), within the descriptor limit).")
    var parallel: Int?

    func validate() throws {
        if let parallel, parallel < 1 { throw ValidationError("--parallel must be at least 1") }
        if let only, (try? NSRegularExpression(pattern: only)) == nil { throw ValidationError("--only: \"\(only)\" is not a regular expression") }
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
        let plan = try LabVerifier.plan(text: source.text, file: source.name,
                                        options: LabVerifier.Options(model: model, allPairs: allPairs, only: only, parallel: parallel))
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
        let stream = ProbeReportStream(tasks: plan.tasks, options: .init(quiet: quiet, json: output == .json,
                                                                         junitSuite: junit == nil ? nil : suite)) { out.print($0) }
        let started = Date()
        let progress = { (final: Bool) in
            let seconds = Date().timeIntervalSince(started)
            out.progress("\(NumberText.grouped(stream.done))/\(NumberText.grouped(stream.total)) probes · \(NumberText.grouped(stream.failed)) failed · \(String(format: "%.1f", seconds)) s", final: final)
        }
        let signals = SignalPipe(SIGINT, SIGTERM)
        let completed = LabVerifier.run(plan, stop: signals.reader, tick: { progress(false) }) { index, result in
            stream.record(index, result)
        }
        signals.restore()
        progress(true)
        stream.finish()
        out.flush()
        if output == .json { stream.json { out.write($0) } }
        if let junit { try Self.writeJUnit(stream, seconds: Date().timeIntervalSince(started), to: junit) }
        if !completed { return 128 + signals.received }
        return stream.failed > 0 ? 1 : 0
    }

    /// Writes the JUnit file a testcase at a time to a temporary file beside it, then renames
    /// it into place, so a reader never sees half a file.
    private static func writeJUnit(_ stream: ProbeReportStream, seconds: Double, to path: String) throws {
        let temporary = path + ".lab-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let file = FileHandle(forWritingAtPath: temporary) else {
            throw RuntimeError.io(operation: "create", path: temporary, errno: errno)
        }
        var failure: Error?
        var buffer = ""
        stream.junit(seconds: seconds) { piece in
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
