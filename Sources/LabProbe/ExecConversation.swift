import Glibc
import LabKernel

/// One exec try: the command runs in the source namespace (`ChildProcess` enters it between
/// fork and exec, as `ip netns exec` would, without a process in between), its stdout and
/// stderr go to one pipe the loop reads, and exit status 0 is the answer; once the output has
/// ended, the loop waits on the command's pidfd for its exit. The only probe kind that costs a
/// process, because its whole point is running the user's program.
final class ExecConversation: ProbeConversation {
    /// Output kept for the report; more is read and dropped, so the command never blocks on a
    /// full pipe.
    static let outputLimit = 16384
    /// How often to look for the exit once the output has ended, when no pidfd is to be had.
    private static let exitPoll: Int64 = 2_000_000

    private let argv: [String]
    private let namespace: NetworkNamespace?
    private let timeout: Int64
    private var outputPipe: ProbeDescriptor?
    private var child: ChildProcess?
    /// Readable once the command has exited; opened when its output ends.
    private var exit: PidFD?
    private var outputEnded = false
    private var started = ProbeInstant(nanoseconds: 0)
    private var deadline = ProbeInstant(nanoseconds: 0)
    private var output: [UInt8] = []
    private var buffer = [UInt8](repeating: 0, count: 4096)

    var fd: Int32 { outputEnded ? exit?.fd ?? -1 : outputPipe?.fd ?? -1 }

    init(argv: [String], namespace: NetworkNamespace?, timeout: Int64) {
        self.argv = argv
        self.namespace = namespace
        self.timeout = timeout
    }

    deinit {
        // Only when the loop is abandoned mid-try: never leave the command running.
        if let child {
            child.signal(SIGKILL, group: true)
            _ = child.wait()
        }
    }

    func start(now: ProbeInstant) -> ProbeStep {
        started = now
        deadline = now.advanced(by: timeout)
        guard let program = argv.first else {
            return error(ENOENT, "(empty command): command not found in \(ProgramLookup.basePath)", now)
        }
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return error(errno, "pipe", now) }
        // Close-on-exec for both ends (Swift does not see `pipe2`): the child gets the write
        // end as its stdout and stderr through dup2, which clears the flag on those copies.
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        let reader = ProbeDescriptor(ends[0])
        defer { close(ends[1]) }
        do throws(SpawnError) {
            // A new session, so a timeout kills the command's whole process group, not only its
            // first process.
            child = try ChildProcess.spawn(program: program, arguments: Array(argv.dropFirst()),
                                           environment: ChildProcess.baseEnvironment.merging(["HOME": "/root"]) { $1 },
                                           netns: namespace, newSession: true, stdout: .descriptor(ends[1]), stderr: .descriptor(ends[1]))
        } catch where error.step == .lookup {
            return self.error(ENOENT, error.description, now)
        } catch {
            return self.error(error.errno, error.step.name, now)
        }
        outputPipe = reader
        return .wait(events: PollEvent.readable, until: deadline)
    }

    func advance(revents: Int16, now: ProbeInstant) -> ProbeStep {
        if revents != 0, !outputEnded, let outputPipe {
            // One read per wake-up: poll said it will not block, and the pipe stays blocking
            // because the child shares its other end's flags.
            let count = buffer.withUnsafeMutableBytes { read(outputPipe.fd, $0.baseAddress, $0.count) }
            if count > 0 {
                output += buffer[..<min(count, max(0, Self.outputLimit - output.count))]
            } else if count == 0 || errno != EINTR {
                outputEnded = true
            }
        }
        if outputEnded, let step = reap(now, blocking: false) { return step }
        if now >= deadline {
            if let child {
                child.signal(SIGKILL, group: true)
                _ = reap(now, blocking: true)
            }
            var observation = ProbeObservation(outcome: .timeout, elapsedMilliseconds: now.milliseconds(since: started))
            observation.output = text(output)
            return .finished(observation)
        }
        if outputEnded {
            // The output has ended but the command may run on: its exit is the pidfd's event.
            if exit == nil, let child { exit = PidFD(pid: child.pid) }
            if exit != nil { return .wait(events: PollEvent.readable, until: deadline) }
            return .wait(events: 0, until: min(deadline, now.advanced(by: Self.exitPoll)))
        }
        return .wait(events: PollEvent.readable, until: deadline)
    }

    /// The observation once the child has exited; nil while it runs (unless `blocking`).
    private func reap(_ now: ProbeInstant, blocking: Bool) -> ProbeStep? {
        guard let child, let status = blocking ? child.wait() : child.reap() else { return nil }
        self.child = nil
        exit = nil
        let observation = ProbeObservation(
            outcome: status.code == 0 ? .reached : .exited, detail: status.signal.map { "killed by signal \($0)" },
            elapsedMilliseconds: now.milliseconds(since: started), exitStatus: status.code, output: text(output))
        return .finished(observation)
    }

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    private func error(_ code: Int32, _ detail: String, _ now: ProbeInstant) -> ProbeStep {
        .finished(ProbeObservation(outcome: .error, errno: ProbeErrno.name(code), detail: detail,
                                   elapsedMilliseconds: now.milliseconds(since: started)))
    }
}
