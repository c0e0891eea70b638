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
        let envp = CStringArray(["PATH=\(ContainerLauncher.basePath)", "LAB_RUN_DIR=\(state.root)"])
        var step: Int32 = 0
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
                // A container that dies at once (a typo in its command, a crash on start) should
                // be reported by `up` itself, not discovered later: give it a moment to do so.
                usleep(300_000)
                return state.supervisorReport() ?? report
            }
            usleep(20_000)
        }
        return state.supervisorReport()
    }

    /// Stops the supervisor (it stops its containers), then ends any process still inside the
    /// lab's namespaces: SIGTERM, and SIGKILL after `grace` seconds. Returns how many were ended.
    @discardableResult
    public static func stopEverything(lab: String, state: LabState, namespaces: [String], grace: Double = 2) -> Int {
        var supervisors = Set(all(lab: lab))
        if let pid = running(lab: lab, state: state) { supervisors.insert(pid) }
        var ended = terminate(Array(supervisors), grace: grace + 1)
        // Containers of a supervisor that was SIGKILLed, and anything started with `lab exec`.
        var pids = Set<Int32>()
        for name in namespaces {
            if let handle = try? NetworkNamespace.open(name) { pids.formUnion(handle.pids()) }
        }
        pids.remove(getpid())
        ended += terminate(Array(pids), grace: grace)
        return ended
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
