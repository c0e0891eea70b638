import CProcess
import Glibc

/// A process `lab` started and must reap: a container, an exec probe's command, a firewall
/// tool, the supervisor. The one place that forks (`spawn`), waits (`wait`, with or without a
/// deadline) and ends a child (`terminate`). Processes that are not ours — left in a lab's
/// namespaces — are ended by `ProcessTermination`.
public struct ChildProcess: Sendable, Hashable {
    public let pid: Int32

    /// Wraps a pid this process forked and has not reaped yet.
    public init(pid: Int32) { self.pid = pid }

    /// What a standard descriptor of the child is.
    public enum Stream: Sendable, Hashable {
        /// `/dev/null`.
        case null
        /// The parent's own.
        case inherit
        /// A descriptor of the parent's (left open in the parent: the caller closes it).
        case descriptor(Int32)

        var raw: Int32 {
            switch self {
            case .null: return Int32(LAB_SPAWN_DEV_NULL.rawValue)
            case .inherit: return Int32(LAB_SPAWN_INHERIT.rawValue)
            case .descriptor(let fd): return fd
            }
        }
    }

    /// The environment every process `lab` starts begins with: a fixed PATH, never the one
    /// `lab` happened to run with.
    public static var baseEnvironment: [String: String] { ["PATH": ProgramLookup.basePath] }

    /// Starts `program` (found in `ProgramLookup.basePath` unless it has a `/`) with `argv`
    /// `[program] + arguments` and exactly `environment`.
    ///
    /// Equivalent to: `ip netns exec NETNS unshare --uts sh -c 'hostname H; exec setsid PROGRAM ARGS' <STDIN >STDOUT 2>STDERR`
    ///
    /// 1. Look the program up (here, before fork: the child may not allocate).
    /// 2. fork; in the child: enter `netns`, with `binds` a private mount namespace with each
    ///    bound (as `ip netns exec` binds `/etc/netns/NETNS/*`), a private UTS namespace named `hostname`, a new
    ///    session if `newSession` (a daemon, or a command killed with its whole group), the
    ///    three streams, every other descriptor closed on exec, no signal blocked; exec.
    /// A failure of any step is a `SpawnError` naming it, not a child that exits 127.
    public static func spawn(program: String, arguments: [String] = [], environment: [String: String] = baseEnvironment,
                             netns: NetworkNamespace? = nil, hostname: String? = nil, newSession: Bool = false,
                             stdin: Stream = .null, stdout: Stream = .inherit, stderr: Stream = .inherit,
                             binds: [BindMount]? = nil) throws(SpawnError) -> ChildProcess {
        guard let path = ProgramLookup.resolve(program) else { throw SpawnError(program: program, step: .lookup, errno: ENOENT) }
        let argv = CStringArray([program] + arguments)
        let envp = CStringArray(environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        let bindPairs = CStringArray(binds?.flatMap { [$0.source, $0.target] } ?? [])
        var step: Int32 = 0
        let pid = path.withCString { cPath in
            (hostname ?? "").withCString { cHostname in
                argv.pointers.withUnsafeBufferPointer { cArgv in
                    envp.pointers.withUnsafeBufferPointer { cEnvp in
                        bindPairs.pointers.withUnsafeBufferPointer { cBinds in
                            cBinds.withMemoryRebound(to: UnsafePointer<CChar>?.self) { constBinds in
                                var request = lab_spawn_request(
                                    path: cPath, argv: cArgv.baseAddress, envp: cEnvp.baseAddress, netns_fd: netns?.fd ?? -1,
                                    hostname: hostname == nil ? nil : cHostname, new_session: newSession ? 1 : 0,
                                    stdin_fd: stdin.raw, stdout_fd: stdout.raw, stderr_fd: stderr.raw,
                                    binds: binds == nil ? nil : constBinds.baseAddress)
                                return lab_spawn(&request, &step)
                            }
                        }
                    }
                }
            }
        }
        guard pid > 0 else { throw SpawnError(program: program, step: SpawnError.Step(step), errno: errno) }
        return ChildProcess(pid: pid)
    }

    /// A file bound over another in the child's own mount namespace (`mount --bind SOURCE TARGET`).
    public struct BindMount: Sendable, Hashable {
        public var source: String
        public var target: String

        public init(source: String, target: String) {
            self.source = source
            self.target = target
        }
    }

    /// Blocks until the child exits, and reaps it.
    ///
    /// Equivalent to: `wait $PID`
    public func wait() -> ProcessExit {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return ProcessExit(waitStatus: status) }
        }
        return ProcessExit(waitStatus: status)
    }

    /// Its status if it has exited (and reaps it); nil while it runs.
    public func reap() -> ProcessExit? {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid ? ProcessExit(waitStatus: status) : nil
    }

    /// Whether it is still ours to wait for (ECHILD: someone else reaped it).
    private var isWaitable: Bool {
        var info = siginfo_t()
        return waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 || errno != ECHILD
    }

    /// Waits until the child exits (and reaps it) or `deadline` passes (nil: still running).
    /// The exit is an event (a pidfd), not something looked for at intervals.
    public func wait(deadline: ContinuousClock.Instant) -> ProcessExit? {
        if let status = reap() { return status }
        guard let exit = PidFD(pid: pid) else {
            // No pidfd (out of descriptors): look every 10 ms instead.
            while ContinuousClock.now < deadline {
                if let status = reap() { return status }
                usleep(10_000)
            }
            return reap()
        }
        // Readable as soon as it has exited, but reaping may trail the wake-up by a moment.
        while exit.waitForExit(deadline: deadline) {
            if let status = reap() { return status }
            guard isWaitable else { return nil }
        }
        return reap()
    }

    /// Sends `signal` to the child, or with `group` to its whole process group (a child started
    /// with `newSession` leads its own). Errors (it has exited) are ignored.
    ///
    /// Equivalent to: `kill -SIGNAL PID` (`kill -SIGNAL -PID` for the group)
    public func signal(_ signal: Int32, group: Bool = false) {
        _ = kill(group ? -pid : pid, signal)
    }

    /// SIGTERM, up to `grace` for the child to exit, then SIGKILL; reaped either way.
    public func terminate(grace: Duration) -> ProcessExit {
        signal(SIGTERM)
        if let status = wait(deadline: .now + grace) { return status }
        signal(SIGKILL)
        return wait()
    }

    /// Reaps any child that has exited: its pid and status, or nil when none has.
    public static func reapAny() -> (pid: Int32, status: ProcessExit)? {
        var status: Int32 = 0
        let pid = waitpid(-1, &status, WNOHANG)
        return pid > 0 ? (pid, ProcessExit(waitStatus: status)) : nil
    }
}
