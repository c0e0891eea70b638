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
        // Watching before the supervisor exists, so no report it writes goes unnoticed.
        let watch = FileWatch(path: state.directory)
        let supervisor: ChildProcess
        do throws(SpawnError) {
            supervisor = try ChildProcess.spawn(
                program: executable, arguments: ["supervise", lab],
                environment: ChildProcess.baseEnvironment.merging(["LAB_RUN_DIR": state.root]) { $1 },
                newSession: true, stdout: .descriptor(logFD), stderr: .descriptor(logFD))
        } catch {
            throw RuntimeError.io(operation: "start supervisor", path: executable, errno: error.errno)
        }
        let pid = supervisor.pid
        // Its report is an inotify event, its death (when it dies at once it writes none) the
        // pidfd's: both wake the wait below.
        let exit = PidFD(pid: pid)

        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            // Reap it if it died at once, so we can say so instead of waiting out the timeout.
            if supervisor.reap() != nil {
                throw RuntimeError.supervisorFailed(lab: lab, log: state.supervisorLogPath)
            }
            if let report = state.supervisorReport(), report.supervisorPID == pid, report.settled {
                guard startedSomething(before: nil, after: report) else { return report }
                return awaitEarlyExits(supervisor: pid, before: nil, settled: report, state: state, watch: watch)
            }
            watch.wait(until: deadline, orExitOf: exit, slice: 0.1)
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
    /// With no containers left and no fault deadline (`FaultSet.nextDeadline`) to keep, the
    /// supervisor stops everything and exits, and this returns nil
    /// once it has. With no supervisor running, it starts one (as `start`) if there are
    /// containers or deadlines, else returns nil. Throws if the supervisor dies, cannot read the topology, or
    /// has not answered within `timeout` seconds.
    public static func reload(lab: String, state: LabState, timeout: Double = 15) throws -> SupervisorReport? {
        let topology = try state.topology()
        // Fault clocks and delay lines keep a supervisor too, in a lab without containers.
        let wanted = Supervisor.isNeeded(for: topology, faults: FaultController.load(state))
        guard let pid = running(lab: lab, state: state) else {
            return wanted ? try start(lab: lab, state: state, timeout: timeout) : nil
        }
        let before = state.supervisorReport().flatMap { $0.supervisorPID == pid ? $0 : nil }
        let seen = before?.generation ?? 0
        let watch = FileWatch(path: state.directory)
        let exit = PidFD(pid: pid)
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
            if !ProcessTermination.isRunning(pid) {
                // Ours to reap when this process started it.
                _ = ChildProcess(pid: pid).reap()
                if wanted { throw RuntimeError.supervisorFailed(lab: lab, log: state.supervisorLogPath) }
                return nil
            }
            // As in `start`: the report and the supervisor's death are both events.
            watch.wait(until: deadline, orExitOf: exit, slice: 0.1)
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
        let ended = ProcessTermination.terminate(supervisors.sorted(), grace: .seconds(grace + 1))
        // Containers of a supervisor that was SIGKILLed, and anything started with `lab exec`.
        return ended + endProcesses(in: namespaces, grace: grace)
    }

    /// Ends every process inside `namespaces` but ourselves (`ProcessTermination`), as the
    /// applier does before it deletes a namespace.
    @discardableResult
    static func endProcesses(in namespaces: [String], grace: Double) -> Int {
        ProcessTermination.terminate(inNetns: namespaces, grace: .seconds(grace))
    }
}
