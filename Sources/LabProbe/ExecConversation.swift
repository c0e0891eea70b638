import CProcess
import Glibc
import LabKernel

/// One exec try: the command runs in the source namespace (`lab_spawn` enters it between fork
/// and exec, as `ip netns exec` would, without a process in between), its stdout and stderr go
/// to one pipe the loop reads, and exit status 0 is the answer. The only probe kind that costs
/// a process, because its whole point is running the user's program.
final class ExecConversation: ProbeConversation {
    /// Output kept for the report; more is read and dropped, so the command never blocks on a
    /// full pipe.
    static let outputLimit = 16384
    /// How often to look for the exit once the output has ended.
    private static let exitPoll: Int64 = 2_000_000

    private let argv: [String]
    private let namespace: NetworkNamespace?
    private let timeout: Int64
    private var outputPipe: ProbeDescriptor?
    private var pid: pid_t = 0
    private var outputEnded = false
    private var started = ProbeInstant(nanoseconds: 0)
    private var deadline = ProbeInstant(nanoseconds: 0)
    private var output: [UInt8] = []
    private var buffer = [UInt8](repeating: 0, count: 4096)

    var fd: Int32 { outputEnded ? -1 : outputPipe?.fd ?? -1 }

    init(argv: [String], namespace: NetworkNamespace?, timeout: Int64) {
        self.argv = argv
        self.namespace = namespace
        self.timeout = timeout
    }

    deinit {
        // Only when the loop is abandoned mid-try: never leave the command running.
        if pid > 0 {
            kill(-pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    func start(now: ProbeInstant) -> ProbeStep {
        started = now
        deadline = now.advanced(by: timeout)
        guard let program = argv.first, let path = ProgramLookup.resolve(program) else {
            return error(ENOENT, "\(argv.first ?? "(empty command)"): command not found in \(ProgramLookup.basePath)", now)
        }
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return error(errno, "pipe", now) }
        // Close-on-exec for both ends (Swift does not see `pipe2`): the child gets the write
        // end as its stdout and stderr through dup2, which clears the flag on those copies.
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        let reader = ProbeDescriptor(ends[0])
        defer { close(ends[1]) }
        let arguments = CStringArray(argv)
        let environment = CStringArray(["PATH=\(ProgramLookup.basePath)", "HOME=/root"])
        var step: Int32 = 0
        // A new session, so a timeout kills the command's whole process group, not only its
        // first process.
        let child = lab_spawn(path, arguments.pointers, environment.pointers, namespace?.fd ?? -1, nil, 1, ends[1], &step)
        guard child > 0 else { return error(errno, ProgramLookup.spawnStepName(step), now) }
        pid = child
        outputPipe = reader
        return .wait(events: PollEvent.readable, until: deadline)
    }

    func advance(revents: Int16, now: ProbeInstant) -> ProbeStep {
        if revents != 0, let outputPipe {
            // One read per wake-up: poll said it will not block, and the pipe stays blocking
            // because the child shares its other end's flags.
            let count = buffer.withUnsafeMutableBytes { read(outputPipe.fd, $0.baseAddress, $0.count) }
            if count > 0 {
                output += buffer[..<min(count, max(0, Self.outputLimit - output.count))]
            } else if count == 0 || errno != EINTR {
                outputEnded = true
            }
        }
        if outputEnded, let step = reap(now, options: WNOHANG) { return step }
        if now >= deadline {
            if pid > 0 {
                kill(-pid, SIGKILL)
                _ = reap(now, options: 0)
            }
            var observation = ProbeObservation(outcome: .timeout, elapsedMilliseconds: now.milliseconds(since: started))
            observation.output = text(output)
            return .finished(observation)
        }
        if outputEnded { return .wait(events: 0, until: min(deadline, now.advanced(by: Self.exitPoll))) }
        return .wait(events: PollEvent.readable, until: deadline)
    }

    /// The observation once the child has exited; nil while it runs (with WNOHANG).
    private func reap(_ now: ProbeInstant, options: Int32) -> ProbeStep? {
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, options)
        guard reaped == pid else { return nil }
        pid = 0
        // WIFEXITED/WEXITSTATUS/WTERMSIG are macros Swift cannot import.
        let signal = status & 0x7f
        let exitStatus = signal == 0 ? (status >> 8) & 0xff : 128 + signal
        let observation = ProbeObservation(
            outcome: exitStatus == 0 ? .reached : .exited, detail: signal == 0 ? nil : "killed by signal \(signal)",
            elapsedMilliseconds: now.milliseconds(since: started), exitStatus: exitStatus, output: text(output))
        return .finished(observation)
    }

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    private func error(_ code: Int32, _ detail: String, _ now: ProbeInstant) -> ProbeStep {
        .finished(ProbeObservation(outcome: .error, errno: ProbeErrno.name(code), detail: detail,
                                   elapsedMilliseconds: now.milliseconds(since: started)))
    }
}
