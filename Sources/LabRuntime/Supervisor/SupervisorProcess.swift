import CProcess
import Foundation
import LabKernel
import LabPlan

/// Starting and stopping a lab's supervisor from `lab up` and `lab down`.
public enum SupervisorProcess {
    /// The pid of the lab's supervisor if one is alive and really is ours: its command line is
    /// `lab supervise <lab>` (a recycled pid of another program is never signalled).
    public static func running(lab: String, state: LabState) -> Int32? {
        guard let text = try? String(contentsOfFile: state.supervisorPIDPath, encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
              isSupervisor(pid: pid, lab: lab) else { return nil }
        return pid
    }

    static func isSupervisor(pid: Int32, lab: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return arguments.count == 3 && (arguments[0] as NSString).lastPathComponent == "lab"
            && arguments[1] == "supervise" && arguments[2] == lab
    }

    /// Every supervisor of `lab` alive on this host, found through /proc (for `down` when the
    /// pid file is gone).
    static func all(lab: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { isSupervisor(pid: $0, lab: lab) }
    }

    /// Starts `lab supervise LAB` detached (own session, output to supervisor.log) and waits
    /// until every container has been started once, or `timeout` passes.
    public static func start(lab: String, state: LabState, timeout: Double = 15) throws -> SupervisorReport? {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let logFD = open(state.supervisorLogPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard logFD >= 0 else { throw RuntimeError.io(operation: "open", path: state.supervisorLogPath, errno: errno) }
        defer { close(logFD) }
        // A report left by an earlier supervisor must not be mistaken for this one's.
        unlink(state.containersPath)
        unlink(state.supervisorPIDPath)
        let argv = CStringArray([executable, "supervise", lab])
        let envp = CStringArray(["PATH=\(ProgramLookup.basePath)", "LAB_RUN_DIR=\(state.root)"])
        var step: Int32 = 0
        // Watching before the supervisor exists, so no report it writes goes unnoticed.
        let watch = FileWatch(path: state.directory)
        let pid = lab_spawn(executable, argv.pointers, envp.pointers, -1, nil, 1, logFD, &step)
        guard pid > 0 else { throw RuntimeError.io(operation: "start supervisor", path: executable, errno: errno) }

        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            // Reap it if it died at once, so we can say so instead of waiting out the timeout.
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                throw RuntimeError.supervisorFailed(lab: lab, log: state.supervisorLogPath)
            }
            if let report = state.supervisorReport(), report.supervisorPID == pid, report.settled {
                guard startedSomething(before: nil, after: report) else { return report }
                return awaitEarlyExits(supervisor: pid, before: nil, settled: report, state: state, watch: watch)
            }
            // A report is an inotify event; the supervisor's death is not (when it dies at once
            // it writes none, and Swift's Glibc offers no pidfd_open), so look at least every
            // 100 ms.
            watch.wait(until: deadline, slice: 0.1)
        }
        return state.supervisorReport()
    }

    /// Tells the running supervisor of `lab` to converge to `state.topology()` — rewrite
    /// `topology.json` first — and waits until it has; returns its new report.
    ///
    /// The supervisor (on SIGHUP) leaves a container whose pod and `ContainerTopology` are
    /// unchanged untouched (same pid, restart count kept); stops (SIGTERM, SIGKILL after 2 s,
    /// reaped) a container gone from the topology or changed, and starts a changed or new one;
    /// closes the agent ports of removed containers and their connections before answering, so
    /// nothing of it keeps a deleted pod's namespace alive; and ends any process left in a
    /// namespace no pod of the topology uses any more. A pod whose namespace was deleted and
    /// created again since its containers started counts as changed. A container whose pod's
    /// namespace does not exist is reported as failed (and retried on the next reload).
    ///
    /// With no containers left, the supervisor stops everything and exits, and this returns nil
    /// once it has. With no supervisor running, it starts one (as `start`) if there are
    /// containers, else returns nil. Throws if the supervisor dies, cannot read the topology, or
    /// has not answered within `timeout` seconds.
    public static func reload(lab: String, state: LabState, timeout: Double = 15) throws -> SupervisorReport? {
        let topology = try state.topology()
        let wanted = topology.pods.contains { !$0.containers.isEmpty }
        guard let pid = running(lab: lab, state: state) else {
            return wanted ? try start(lab: lab, state: state, timeout: timeout) : nil
        }
        let before = state.supervisorReport().flatMap { $0.supervisorPID == pid ? $0 : nil }
        let seen = before?.generation ?? 0
        let watch = FileWatch(path: state.directory)
        guard kill(pid, SIGHUP) == 0 else { throw RuntimeError.io(operation: "signal supervisor", path: "pid \(pid)", errno: errno) }

        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let report = state.supervisorReport(), report.supervisorPID == pid, report.generation > seen {
                if let reason = report.reloadError { throw SupervisorReloadError.unreadableTopology(lab: lab, reason: reason) }
                if wanted {
                    guard startedSomething(before: before, after: report) else { return report }
                    return awaitEarlyExits(supervisor: pid, before: before, settled: report, state: state, watch: watch)
                }
            }
            if !isAlive(pid) {
                var status: Int32 = 0
                waitpid(pid, &status, WNOHANG)
                if wanted { throw RuntimeError.supervisorFailed(lab: lab, log: state.supervisorLogPath) }
                return nil
            }
            // As in `start`: the report is an event, the supervisor's death is looked for.
            watch.wait(until: deadline, slice: 0.1)
        }
        throw SupervisorReloadError.timedOut(lab: lab, seconds: timeout)
    }

    /// Whether a process was started since `before` (nil: ever): a non-agent container that is
    /// new or has a new pid. Only then is it worth waiting to see whether it dies at once.
    static func startedSomething(before: SupervisorReport?, after: SupervisorReport) -> Bool {
        !startedProcesses(before: before, after: after).isEmpty
    }

    /// The processes started since `before`, as `pod/container` → pid.
    static func startedProcesses(before: SupervisorReport?, after: SupervisorReport) -> [String: Int32] {
        var previous: [String: Int32] = [:]
        for status in before?.containers ?? [] { previous["\(status.pod)/\(status.container)"] = status.pid }
        var started: [String: Int32] = [:]
        for status in after.containers where !status.isAgent {
            let key = "\(status.pod)/\(status.container)"
            if let pid = status.pid, previous[key] != pid { started[key] = pid }
        }
        return started
    }

    /// How long after its start a container that exits counts as dying at once (a typo in its
    /// command, a crash on start): `up` reports that itself rather than leave it for `status`.
    static let startWindow = 0.3

    /// The supervisor's report once every process started since `before` has exited (the
    /// supervisor rewrites its report when one does), or once `startWindow` has passed with some
    /// still running. Agents live in the supervisor and have already opened their ports or
    /// failed, so only processes are waited for.
    static func awaitEarlyExits(supervisor pid: Int32, before: SupervisorReport?, settled report: SupervisorReport,
                                state: LabState, watch: FileWatch?) -> SupervisorReport {
        let started = startedProcesses(before: before, after: report)
        let end = Date().addingTimeInterval(startWindow)
        var latest = report
        while Date() < end {
            var current: [String: Int32] = [:]
            for status in latest.containers { current["\(status.pod)/\(status.container)"] = status.pid }
            if started.allSatisfy({ current[$0.key] != $0.value }) { return latest }
            watch.wait(until: end, slice: startWindow)
            if let next = state.supervisorReport(), next.supervisorPID == pid { latest = next }
        }
        return state.supervisorReport() ?? latest
    }

    /// Stops the supervisor (it stops its containers), then ends any process still inside the
    /// lab's namespaces: SIGTERM, and SIGKILL after `grace` seconds. Returns how many were ended.
    @discardableResult
    public static func stopEverything(lab: String, state: LabState, namespaces: [String], grace: Double = 2) -> Int {
        var supervisors = Set(all(lab: lab))
        if let pid = running(lab: lab, state: state) { supervisors.insert(pid) }
        let ended = terminate(Array(supervisors), grace: grace + 1)
        // Containers of a supervisor that was SIGKILLed, and anything started with `lab exec`.
        return ended + endProcesses(in: namespaces, grace: grace)
    }

    /// Ends every process inside `namespaces` but ourselves (SIGTERM, SIGKILL after `grace`
    /// seconds): a process in a namespace keeps it alive after `ip netns del`, with its veths
    /// and addresses. Returns how many there were.
    @discardableResult
    static func endProcesses(in namespaces: [String], grace: Double) -> Int {
        var pids = Set(NetworkNamespace.pids(inNamespacesNamed: namespaces))
        pids.remove(getpid())
        return terminate(pids.sorted(), grace: grace)
    }

    /// SIGTERM, wait up to `grace` seconds, SIGKILL what is left.
    static func terminate(_ pids: [Int32], grace: Double) -> Int {
        guard !pids.isEmpty else { return 0 }
        for pid in pids { kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(grace)
        var alive = pids
        while !alive.isEmpty, Date() < deadline {
            for pid in alive { var status: Int32 = 0; waitpid(pid, &status, WNOHANG) }
            alive = alive.filter { isAlive($0) }
            // Most of these are not our children, so no SIGCHLD; their pidfds would be the event,
            // but Swift's Glibc has no pidfd_open: look again every 20 ms until the deadline.
            if !alive.isEmpty { usleep(20_000) }
        }
        for pid in alive { kill(pid, SIGKILL) }
        for pid in alive { var status: Int32 = 0; waitpid(pid, &status, WNOHANG) }
        return pids.count
    }

    /// Alive and not a zombie (a zombie has exited; only its parent's wait is missing).
    static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.first != "Z"
    }
}
