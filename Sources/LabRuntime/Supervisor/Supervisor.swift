import Foundation
import LabKernel
import LabPlan

/// The one long-lived process of a lab (DESIGN §4): it starts every container of every pod,
/// restarts them per their policy, serves every agent itself, and reports to
/// `/run/lab/<lab>/containers.json`. `lab up` starts it detached; `lab down` stops it.
///
/// Its main thread blocks SIGTERM/SIGINT/SIGHUP/SIGCHLD and waits for them with
/// `sigtimedwait`, so signals are handled as ordinary events of one loop — no handler runs
/// in the middle of Swift code.
public final class Supervisor {
    final class Entry {
        let pod: PodTopology
        let container: ContainerTopology
        var status: ContainerStatus
        var startedAt = Date.distantPast
        var nextStart: Date? = Date.distantPast
        var backoff = RestartBackoff()

        init(pod: PodTopology, container: ContainerTopology) {
            self.pod = pod
            self.container = container
            status = ContainerStatus(pod: pod.name, container: container.name, isAgent: container.isAgent,
                                     state: .starting, pid: nil, restarts: 0, exitCode: nil, error: nil)
        }
    }

    let state: LabState
    let topology: Topology
    private var entries: [Entry] = []
    private var namespaces: [String: NetworkNamespace] = [:]
    private var lastReport: Data?
    private var settled = false
    private var agents: AgentHost?

    public init(state: LabState, topology: Topology) {
        self.state = state
        self.topology = topology
        for pod in topology.pods {
            for container in pod.containers { entries.append(Entry(pod: pod, container: container)) }
        }
    }

    static let signals: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGCHLD]

    /// Runs until SIGTERM (or SIGINT/SIGHUP), then stops every container and returns.
    public func run() throws {
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in Supervisor.signals { sigaddset(&mask, signal) }
        // Before any thread exists, so every thread inherits the mask.
        pthread_sigmask(SIG_BLOCK, &mask, nil)
        // A daemon keeps no directory of its caller busy.
        _ = chdir("/")
        try "\(getpid())\n".write(toFile: state.supervisorPIDPath, atomically: true, encoding: .utf8)

        try startAgents()
        while true {
            startDueContainers()
            if !settled, entries.allSatisfy({ $0.status.state != .starting }) { settled = true }
            writeReport()
            var info = siginfo_t()
            var timeout = timespec(tv_sec: 0, tv_nsec: 50_000_000)
            let signal = sigtimedwait(&mask, &info, &timeout)
            reapChildren()
            if signal == SIGTERM || signal == SIGINT || signal == SIGHUP { break }
        }
        shutdown()
    }

    private func startAgents() throws {
        let agentEntries = entries.filter { $0.container.isAgent }
        guard !agentEntries.isEmpty else { return }
        var failures: [String: String] = [:]
        agents = AgentHost.start(entries: agentEntries.map { ($0.pod, $0.container) }, namespace: namespace(of:), failures: &failures)
        for entry in agentEntries {
            if let failure = failures["\(entry.pod.name)/\(entry.container.name)"] {
                entry.status.state = .exited
                entry.status.error = failure
                entry.status.exitCode = 1
            } else {
                entry.status.state = .running
                entry.status.pid = getpid()
            }
            entry.nextStart = nil
        }
    }

    private func namespace(of pod: PodTopology) throws -> NetworkNamespace {
        if let handle = namespaces[pod.namespace] { return handle }
        let handle = try NetworkNamespace.open(pod.namespace)
        namespaces[pod.namespace] = handle
        return handle
    }

    private func startDueContainers() {
        let now = Date()
        for entry in entries where !entry.container.isAgent {
            guard let due = entry.nextStart, due <= now else { continue }
            entry.nextStart = nil
            do {
                try FileManager.default.createDirectory(atPath: state.logDirectory(pod: entry.pod.name), withIntermediateDirectories: true)
                let pid = try ContainerLauncher.launch(entry.container, pod: entry.pod, namespace: namespace(of: entry.pod),
                                                       logPath: state.logPath(pod: entry.pod.name, container: entry.container.name))
                entry.status.pid = pid
                entry.status.state = .running
                entry.status.error = nil
                entry.startedAt = now
            } catch {
                // A start that fails counts as an exit with status 127, as a shell would say.
                appendToLog(entry, "lab: cannot start container: \(error)")
                entry.status.error = "\(error)"
                exited(entry, status: 127, ranFor: 0)
            }
        }
    }

    private func reapChildren() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            guard let entry = entries.first(where: { $0.status.pid == pid && $0.status.state == .running }) else { continue }
            let code = exitCode(status)
            exited(entry, status: code, ranFor: Date().timeIntervalSince(entry.startedAt))
        }
    }

    private func exited(_ entry: Entry, status: Int32, ranFor seconds: Double) {
        entry.status.pid = nil
        entry.status.exitCode = status
        if shouldRestart(policy: entry.container.restart, exitStatus: status) {
            entry.status.state = .restarting
            entry.status.restarts += 1
            entry.nextStart = Date().addingTimeInterval(entry.backoff.next(afterRunning: seconds))
        } else {
            entry.status.state = .exited
        }
    }

    private func appendToLog(_ entry: Entry, _ line: String) {
        let path = state.logPath(pod: entry.pod.name, container: entry.container.name)
        try? FileManager.default.createDirectory(atPath: state.logDirectory(pod: entry.pod.name), withIntermediateDirectories: true)
        if let handle = FileHandle(forWritingAtPath: path) ?? {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }() {
            handle.seekToEndOfFile()
            handle.write(Data((line + "\n").utf8))
            try? handle.close()
        }
    }

    /// SIGTERM to every container, SIGKILL to what is left after a grace period.
    private func shutdown() {
        agents?.stop()
        let running = entries.compactMap { $0.container.isAgent ? nil : $0.status.pid }
        for pid in running { kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(2)
        var remaining = Set(running)
        while !remaining.isEmpty, Date() < deadline {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid > 0 { remaining.remove(pid) } else { usleep(20_000) }
        }
        for pid in remaining {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        for entry in entries where entry.status.state == .running || entry.status.state == .restarting {
            entry.status.state = .exited
            entry.status.pid = nil
        }
        writeReport()
        unlink(state.supervisorPIDPath)
    }

    private func writeReport() {
        let report = SupervisorReport(supervisorPID: getpid(), settled: settled, containers: entries.map(\.status))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(report), data != lastReport else { return }
        lastReport = data
        try? data.write(to: URL(fileURLWithPath: state.containersPath), options: .atomic)
    }
}

/// A wait status as a shell reports it: the exit code, or 128 + the signal.
func exitCode(_ status: Int32) -> Int32 {
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
}
