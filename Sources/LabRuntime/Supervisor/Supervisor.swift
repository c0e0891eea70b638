import Foundation
import LabAgent
import LabKernel
import LabPlan

/// The one long-lived process of a lab (docs/architecture.md, "Containers and the
/// supervisor"): it starts every container of every pod,
/// restarts them per their policy, serves every agent itself, and reports to
/// `/run/lab/<lab>/containers.json`. `lab up` starts it detached; `lab down` stops it; a
/// reconciling `lab up` rewrites `topology.json` and sends SIGHUP (`SupervisorProcess.reload`).
///
/// Its main thread blocks SIGTERM/SIGINT/SIGHUP/SIGCHLD and waits for them with
/// `sigtimedwait`, so signals are handled as ordinary events of one loop — no handler runs
/// in the middle of Swift code.
public final class Supervisor {
    final class Entry {
        var pod: PodTopology
        let container: ContainerTopology
        var status: ContainerStatus
        var startedAt = Date.distantPast
        var nextStart: Date? = Date.distantPast
        var backoff = RestartBackoff()
        /// The namespace the process (or the agent's sockets) was started in.
        var netns: NamespaceIdentity?
        /// An agent's listening sockets, while it is served.
        var agentPorts: [AgentPortID] = []

        var key: String { ContainerChanges.key(pod: pod.name, container: container.name) }

        init(pod: PodTopology, container: ContainerTopology) {
            self.pod = pod
            self.container = container
            status = ContainerStatus(pod: pod.name, container: container.name, isAgent: container.isAgent,
                                     state: .starting, pid: nil, restarts: 0, exitCode: nil, error: nil)
        }
    }

    let state: LabState
    private(set) var topology: Topology
    /// In topology order, which is the report's order.
    private var entries: [Entry] = []
    private var byPID: [Int32: Entry] = [:]
    private var agents: AgentHost?
    /// The cluster DNS server, in the DNS pod; its records follow every reload.
    private lazy var dns = ClusterDNSHost(state: state)
    /// The delay lines of links that delay on a kernel without netem, and how each is.
    private var delayLines: DelayLineHost?
    private var delayLineStatus: [DelayLineStatus] = []
    private var settled = false
    /// Reloads handled; `SupervisorProcess.reload` waits for it to pass the value it saw.
    private var generation = 0
    private var reloadError: String?
    /// Whether the report is out of date: encoding 1,000 containers every turn of the loop
    /// would cost more than everything else the loop does.
    private var reportIsStale = true

    /// The next moment a fault needs the supervisor (`FaultSet.nextDeadline`), read at start and
    /// at each reload; nil when no fault has a clock.
    private var faultDeadline: Double?

    /// How long a stopped container gets between SIGTERM and SIGKILL.
    static let grace = 2.0

    public init(state: LabState, topology: Topology) {
        self.state = state
        self.topology = topology
    }

    static let signals: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGCHLD]

    /// Whether a lab needs its supervisor: for its containers, to keep the clocks of its
    /// faults, or to serve the delay lines of its delayed links (the file's, or a fault's).
    public static func isNeeded(for topology: Topology, faults: FaultSet) -> Bool {
        topology.pods.contains { !$0.containers.isEmpty } || faults.nextDeadline != nil
            || !ImpairmentPlan.delayQueues(FaultPlan.withImpairments(topology, faults)).isEmpty
    }

    /// Runs until SIGTERM or SIGINT, or until a reload leaves nothing to supervise (no
    /// container, no fault with a clock, no delay line); then stops every container and
    /// returns. SIGHUP reloads `topology.json` and `faults.json`.
    public func run() throws {
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in Supervisor.signals { sigaddset(&mask, signal) }
        // Before any thread exists, so every thread inherits the mask.
        pthread_sigmask(SIG_BLOCK, &mask, nil)
        // A daemon keeps no directory of its caller busy.
        _ = chdir("/")
        try "\(getpid())\n".write(toFile: state.supervisorPIDPath, atomically: true, encoding: .utf8)

        converge(to: topology)
        faultDeadline = FaultController.load(state).nextDeadline
        while !entries.isEmpty || faultDeadline != nil || !delayLineStatus.isEmpty {
            startDueContainers()
            advanceFaults()
            if !settled, entries.allSatisfy({ $0.status.state != .starting }) {
                settled = true
                reportIsStale = true
            }
            writeReport()
            var info = siginfo_t()
            var timeout = timespec(tv_sec: 0, tv_nsec: 50_000_000)
            let signal = sigtimedwait(&mask, &info, &timeout)
            reapChildren()
            if signal == SIGTERM || signal == SIGINT { break }
            if signal == SIGHUP { reload() }
        }
        shutdown()
    }

    /// Reverts faults whose time is up and takes the pods of nodes whose grace period ended out
    /// of the services (`FaultController.advance`). While `up`, `down` or a `lab fault` holds
    /// the lab's lock, it tries again a moment later; `down` ends the supervisor meanwhile.
    private func advanceFaults() {
        guard let deadline = faultDeadline, Date().timeIntervalSince1970 >= deadline else { return }
        do {
            faultDeadline = try FaultController(lab: state.lab).advance()
            // An expired delay changes the lines to serve; no one else tells this process.
            convergeDelayLines(topology)
        } catch RuntimeError.busy {
            faultDeadline = Date().timeIntervalSince1970 + 0.2
        } catch {
            log("faults: \(error)")
            // Not forever at 20 turns a second: the next reload (a `lab fault` command) retries.
            faultDeadline = nil
        }
    }

    /// Re-reads `topology.json` and converges to it; a file that cannot be read changes nothing
    /// and is reported (the reload still counts, so its waiter is not left hanging).
    private func reload() {
        generation += 1
        reportIsStale = true
        let next: Topology
        do {
            next = try state.topology()
        } catch {
            let reason = "cannot read \(state.topologyPath): \(error)"
            reloadError = reason
            log("reload: \(reason)")
            return
        }
        reloadError = nil
        converge(to: next)
        topology = next
        faultDeadline = FaultController.load(state).nextDeadline
    }

    /// Makes the running containers those of `desired` (see `ContainerChanges`): stops what is
    /// gone or changed, and starts what is new or changed now rather than on the next turn, so
    /// the report written after a reload already shows them.
    private func converge(to desired: Topology) {
        var running: [String: (pod: PodTopology, container: ContainerTopology)] = [:]
        var replaced = Set<String>()
        for entry in entries {
            running[entry.key] = (entry.pod, entry.container)
            if let recorded = entry.netns, NamespaceIdentity(path: namespacePath(entry.pod.netns)) != recorded {
                replaced.insert(entry.pod.netns)
            }
        }
        let changes = ContainerChanges.between(running: running, desired: desired, replacedNamespaces: replaced)
        var byKey = Dictionary(entries.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })

        stop(changes.stopped.compactMap { byKey.removeValue(forKey: $0) }, desired: desired)

        let pods = Dictionary(desired.pods.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for key in changes.kept {
            guard let entry = byKey[key], let pod = pods[entry.pod.name] else { continue }
            entry.pod = pod
            // A start that failed (its namespace did not exist yet, say) is retried at once:
            // a reload is the moment the namespace may have appeared.
            if !entry.container.isAgent, entry.status.state == .restarting, entry.status.error != nil {
                entry.nextStart = Date.distantPast
            }
        }
        var next: [Entry] = []
        for pod in desired.pods {
            for container in pod.containers {
                let key = ContainerChanges.key(pod: pod.name, container: container.name)
                next.append(byKey[key] ?? Entry(pod: pod, container: container))
            }
        }
        entries = next
        convergeDelayLines(desired)
        startAgents(entries.filter { $0.container.isAgent && $0.agentPorts.isEmpty && $0.status.state != .running })
        serveDNS(desired)
        startDueContainers()
        if !changes.isEmpty {
            log("converged: \(changes.kept.count) kept, \(changes.stopped.count) stopped, \(changes.started.count) started")
        }
        reportIsStale = true
    }

    /// Stops containers a reload removed or changed: agent sockets first (with their
    /// connections), then processes, then whatever is left in namespaces of pods that are gone.
    private func stop(_ stopping: [Entry], desired: Topology) {
        agents?.close(stopping.flatMap(\.agentPorts))
        stopProcesses(stopping)
        // Only pods that are gone: a changed pod's other containers run on, and a replaced
        // pod's name already stands for its new namespace.
        endStragglers(in: Set(stopping.map(\.pod.netns)).subtracting(desired.pods.map(\.netns)))
    }

    /// Serves the delay lines `desired` plans with the faults in force (none unless it is
    /// planned with the delay line), bound before the report says the lab is settled, so
    /// `lab up` returns with them serving.
    private func convergeDelayLines(_ desired: Topology) {
        let queues = ImpairmentPlan.delayQueues(FaultPlan.withImpairments(desired, FaultController.load(state)))
        if queues.isEmpty && delayLines == nil { return }
        if delayLines == nil {
            do {
                delayLines = try DelayLineHost()
            } catch {
                log("delay lines: \(error)")
                return
            }
        }
        let rows = delayLines?.converge(queues) ?? []
        for row in rows where row.error != nil && !delayLineStatus.contains(row) {
            log("delay line \(row.netns) queue \(row.queue): \(row.error ?? "")")
        }
        if rows != delayLineStatus { reportIsStale = true }
        delayLineStatus = rows
    }

    /// Where iproute2 (and `NetworkNamespace`) keep a named namespace.
    private func namespacePath(_ name: String) -> String { "/run/netns/\(name)" }

    /// Opens the ports of agent containers, in one batch (one thread per namespace).
    private func startAgents(_ starting: [Entry]) {
        guard !starting.isEmpty else { return }
        if agents == nil {
            do {
                agents = try AgentHost()
            } catch {
                for entry in starting { failAgent(entry, "\(error)") }
                return
            }
        }
        var requests: [AgentHost.Request] = []
        var handles: [String: NetworkNamespace] = [:]
        for entry in starting {
            do {
                let handle = try handles[entry.pod.netns] ?? NetworkNamespace.open(entry.pod.netns)
                handles[entry.pod.netns] = handle
                entry.netns = NamespaceIdentity(descriptor: handle.fd)
                requests.append(AgentHost.Request(key: entry.key, pod: entry.pod, container: entry.container, netns: handle))
            } catch {
                failAgent(entry, "\(error)")
            }
        }
        let results = agents?.open(requests) ?? [:]
        for entry in starting {
            switch results[entry.key] {
            case .success(let ports):
                entry.agentPorts = ports
                entry.status.state = .running
                entry.status.pid = getpid()
                entry.status.error = nil
                entry.status.exitCode = nil
                entry.nextStart = nil
            case .failure(let error):
                failAgent(entry, "\(error)")
            case nil:
                break
            }
        }
    }

    /// Serves the desired lab's DNS records; a server that cannot start marks the DNS pod's
    /// container exited with the reason, as an agent whose port cannot be had is.
    private func serveDNS(_ desired: Topology) {
        guard let problem = dns.converge(to: desired) else { return }
        log(problem)
        if let entry = entries.first(where: { desired.isClusterDNS($0.pod) && $0.container.isAgent }) {
            agents?.close(entry.agentPorts)
            failAgent(entry, problem)
        }
    }

    /// An agent whose ports cannot be opened is reported as exited; a reload tries again.
    private func failAgent(_ entry: Entry, _ reason: String) {
        entry.status.state = .exited
        entry.status.error = reason
        entry.status.exitCode = 1
        entry.status.pid = nil
        entry.nextStart = nil
        entry.agentPorts = []
    }

    private func startDueContainers() {
        let now = Date()
        for entry in entries where !entry.container.isAgent {
            guard let due = entry.nextStart, due <= now else { continue }
            entry.nextStart = nil
            reportIsStale = true
            do {
                try FileManager.default.createDirectory(atPath: state.logDirectory(pod: entry.pod.name), withIntermediateDirectories: true)
                // Opened for this start only: a descriptor kept open would keep the namespace
                // alive after the pod is deleted.
                let handle = try NetworkNamespace.open(entry.pod.netns)
                let pid = try ContainerLauncher.launch(entry.container, pod: entry.pod, namespace: handle,
                                                       logPath: state.logPath(pod: entry.pod.name, container: entry.container.name)).pid
                entry.netns = NamespaceIdentity(descriptor: handle.fd)
                entry.status.pid = pid
                entry.status.state = .running
                entry.status.error = nil
                entry.startedAt = now
                byPID[pid] = entry
            } catch {
                // A start that fails counts as an exit with status 127, as a shell would say.
                appendToLog(entry, "lab: cannot start container: \(error)")
                entry.status.error = "\(error)"
                exited(entry, status: 127, ranFor: 0)
            }
        }
    }

    private func reapChildren() {
        for _ in 0..<100_000 {
            guard let (pid, status) = ChildProcess.reapAny() else { return }
            childExited(pid: pid, status: status)
        }
    }

    private func childExited(pid: Int32, status: ProcessExit) {
        guard let entry = byPID.removeValue(forKey: pid), entry.status.pid == pid, entry.status.state == .running else { return }
        exited(entry, status: status.code, ranFor: Date().timeIntervalSince(entry.startedAt))
    }

    private func exited(_ entry: Entry, status: Int32, ranFor seconds: Double) {
        reportIsStale = true
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

    /// SIGTERM to each running process, SIGKILL to what is left after `grace`, every one reaped
    /// before returning. Other children that exit meanwhile are handled as usual.
    private func stopProcesses(_ stopping: [Entry]) {
        var pending = Set<Int32>()
        for entry in stopping where !entry.container.isAgent {
            // An agent's pid is the supervisor's own.
            guard let pid = entry.status.pid, entry.status.state == .running else { continue }
            byPID[pid] = nil
            ChildProcess(pid: pid).signal(SIGTERM)
            pending.insert(pid)
        }
        // Several children at once, and others may exit meanwhile: SIGCHLD is the event here,
        // not one child's pidfd (`ChildProcess.terminate` is for one).
        let deadline = Date().addingTimeInterval(Supervisor.grace)
        while !pending.isEmpty, Date() < deadline {
            if let (pid, status) = ChildProcess.reapAny() {
                if pending.remove(pid) == nil { childExited(pid: pid, status: status) }
            } else {
                Supervisor.awaitChildExit(until: deadline)
            }
        }
        for pid in pending {
            let child = ChildProcess(pid: pid)
            child.signal(SIGKILL)
            _ = child.wait()
        }
    }

    /// Waits until a child exits (SIGCHLD, blocked on every thread since `run` began, so it stays
    /// pending until taken here or by the main loop) or `deadline` passes. A SIGCHLD already
    /// pending for a child reaped meanwhile returns at once; the caller's `waitpid` sorts it out.
    static func awaitChildExit(until deadline: Date) {
        var childExit = sigset_t()
        sigemptyset(&childExit)
        sigaddset(&childExit, SIGCHLD)
        let remaining = max(0, deadline.timeIntervalSinceNow)
        var timeout = timespec(tv_sec: Int(remaining), tv_nsec: Int((remaining - remaining.rounded(.down)) * 1e9))
        var info = siginfo_t()
        _ = sigtimedwait(&childExit, &info, &timeout)
    }

    /// Ends what is left in namespaces that are no longer the lab's (a container's own children,
    /// a `lab exec` shell), as `lab down` does: any process there keeps the namespace alive.
    private func endStragglers(in namespaces: Set<String>) {
        ProcessTermination.terminate(inNetns: namespaces.sorted(), grace: .seconds(Supervisor.grace))
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

    /// A line in supervisor.log (the supervisor's stderr).
    private func log(_ line: String) {
        FileHandle.standardError.write(Data("lab supervise \(state.lab): \(line)\n".utf8))
    }

    /// SIGTERM to every container, SIGKILL to what is left after a grace period.
    private func shutdown() {
        dns.stop()
        agents?.stop()
        delayLines?.stop()
        delayLines = nil
        stopProcesses(entries)
        for entry in entries where entry.status.state == .running || entry.status.state == .restarting {
            entry.status.state = .exited
            entry.status.pid = nil
        }
        reportIsStale = true
        writeReport()
        unlink(state.supervisorPIDPath)
    }

    private func writeReport() {
        guard reportIsStale else { return }
        reportIsStale = false
        let report = SupervisorReport(supervisorPID: getpid(), settled: settled, generation: generation,
                                      reloadError: reloadError, containers: entries.map(\.status),
                                      delayLines: delayLineStatus.isEmpty ? nil : delayLineStatus)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(report) else { return }
        try? data.write(to: URL(fileURLWithPath: state.containersPath), options: .atomic)
    }
}
