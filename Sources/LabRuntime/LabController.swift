import Foundation
import LabKernel
import LabPlan
import LabSpec

/// The core of `up`, `down` and friends; commands are thin wrappers around it (as in
/// containerlab), so tests can drive a lab without going through the command line.
public enum LabController {
    public struct UpResult: Sendable {
        public var topology: Topology
        public var plan: Plan
        /// True when the lab was already up with this exact file and nothing was done.
        public var unchanged: Bool
        /// Set when an older version of the lab (or leftovers of a crash) was removed first.
        public var replaced: Bool
        /// Set when a running lab was changed in place (`plan` is then the difference).
        public var changedInPlace = false
        public var seconds: Double
        public var timings: PhaseTimings
        public var warnings: [LabFileError]
        /// Containers that are not running after `up` (exited, or failed to start): `up` still
        /// succeeds, as `kubectl apply` does while a pod crash-loops.
        public var troubledContainers: [ContainerStatus] = []
        public var containerCount = 0
        /// The neighbour mode of the lab, and why.
        public var neighbours: NeighbourDecision?
    }

    /// Validates and plans without touching anything: the first half of `up`, all of
    /// `validate` and `up --dry-run`.
    public static func prepare(text: String, file: String) throws -> Prepared {
        try prepare(loaded: LabFileLoader.parse(text, file: file), text: text, askKernel: false)
    }

    /// `running`: the topology of the lab as it is up, whose allocations (and neighbour mode)
    /// are kept. `cluster.neighbours: auto` is settled here, before planning, from the host's
    /// neighbour table as it is now.
    ///
    /// `askKernel`: whether the kernel may be asked for netem with a throwaway namespace
    /// (`up`); `validate` and `up --dry-run` change nothing and read only its configuration.
    ///
    /// `planning`: false leaves `plan` empty (`isPlanned` false) for a change of a running lab,
    /// which plans only the difference (`Reconciler`); `planned(_:)` fills it when needed.
    static func prepare(loaded: LoadedLabFile, text: String, running: Topology? = nil, askKernel: Bool = true,
                        planning: Bool = true,
                        host: @autoclosure () -> HostNeighbourTable? = .current()) throws -> Prepared {
        var topology = try TopologyBuilder.build(loaded.lab, previous: running)
        // `static` asks nothing of the host's table; reading it means reading every lab's state.
        let setting = loaded.lab.cluster.neighbours
        let neighbours = NeighbourDecision.decide(
            setting: setting, need: NeighbourEntries.worstCase(topology), host: setting == .static ? nil : host(),
            running: running.map { ($0.neighbours, NeighbourEntries.worstCase($0)) })
        topology.neighbours = neighbours.mode
        topology.delayMechanism = ImpairmentReport.delayMechanism(for: topology, running: running, askKernel: askKernel)
        return Prepared(file: loaded.lab, text: text, topology: topology,
                        plan: planning ? Planner.plan(topology) : Plan(lab: topology.lab, operations: []),
                        warnings: loaded.warnings, neighbours: neighbours, isPlanned: planning)
    }

    /// `prepared` with its whole plan, made now if it was left out.
    static func planned(_ prepared: Prepared) -> Prepared {
        guard !prepared.isPlanned else { return prepared }
        var copy = prepared
        copy.plan = Planner.plan(prepared.topology)
        copy.isPlanned = true
        return copy
    }

    public struct Prepared: Sendable {
        /// nil for a change of policies alone, which reads only their section (`policyEdit`).
        public var file: LabFile?
        public var text: String
        public var topology: Topology
        public var plan: Plan
        public var warnings: [LabFileError]
        /// The neighbour mode the lab is planned with, and why.
        public var neighbours: NeighbourDecision
        /// Whether `plan` was made (`prepare(planning:)`).
        var isPlanned = true
        /// Whether `text` is known to cut into the sections its parse found
        /// (`LabFileSections.agrees`); else `file`'s positions tell.
        var sectionsAgree = false

        /// What `LabState.markSections` records once `text` is applied.
        var textSectionsAgree: Bool {
            sectionsAgree || file.map { LabFileSections(text)?.agrees(with: $0.sourceMap) ?? false } ?? false
        }
    }

    /// What `up --dry-run` prints: the whole build as a script, or — when the lab is up and
    /// intact — only the commands that change it into what the file says.
    public static func dryRun(text: String, file: String) throws -> (plan: Plan, warnings: [LabFileError], neighbours: NeighbourDecision) {
        let loaded = try LabFileLoader.parse(text, file: file)
        let state = LabState(lab: loaded.lab.name)
        let running = intactTopology(state)
        let prepared = try prepare(loaded: loaded, text: text, running: running, askKernel: false, planning: running == nil)
        guard let running else { return (prepared.plan, prepared.warnings, prepared.neighbours) }
        return (Reconciler.plan(from: running, to: prepared.topology), prepared.warnings, prepared.neighbours)
    }

    /// The topology of the lab as it is up, if its state says it was fully applied and every
    /// one of its namespaces exists; nil for a lab that is down, half-built or damaged.
    static func intactTopology(_ state: LabState) -> Topology? {
        intactLab(state)?.topology
    }

    /// A lab that is up and intact: its topology, and the bytes it was decoded from.
    struct IntactLab: Equatable {
        var topology: Topology
        var data: Data
    }

    /// As `intactTopology`; `known` is taken as it is when its bytes are still the state's
    /// (decoding a 1,000-pod topology costs tens of milliseconds, comparing the bytes nothing).
    static func intactLab(_ state: LabState, known: IntactLab? = nil) -> IntactLab? {
        guard state.appliedFile() != nil, let data = try? state.topologyData() else { return nil }
        let topology: Topology
        if let known, known.data == data {
            topology = known.topology
        } else {
            guard let decoded = try? state.topology(from: data) else { return nil }
            topology = decoded
        }
        guard NetworkNamespace.allExist(topology.allNetns) else { return nil }
        return IntactLab(topology: topology, data: data)
    }

    /// Builds the lab of `text` (`lab up`). Idempotent: the same file on a lab that is up
    /// and intact does nothing; a changed file is applied as a difference (`Reconciler`), and a
    /// damaged lab or a crash's leftovers are rebuilt.
    public static func up(text: String, file: String, lockWaiting: () -> Void = {}) throws -> UpResult {
        let started = DispatchTime.now()
        if let result = try unchangedWithoutParsing(text, started: started, lockWaiting: lockWaiting) { return result }
        if let result = try policyEdit(text: text, file: file, started: started, lockWaiting: lockWaiting) { return result }
        let loaded = try LabFileLoader.parse(text, file: file)
        let state = LabState(lab: loaded.lab.name)
        UpDownProgress.shared.setLab(loaded.lab.name)
        UpDownProgress.shared.begin("planning")

        // 1. The same file on an intact lab: nothing to plan. Checked again under the lock.
        if state.isAppliedFile(text) {
            try Privileges.check()
            let lock = try LabLock(path: state.lockPath, waiting: lockWaiting)
            defer { withExtendedLifetime(lock) {} }
            if state.isAppliedFile(text), let running = intactTopology(state) {
                return try unchanged(running, warnings: loaded.warnings, state: state, started: started)
            }
        }

        // 2. Validate and allocate (keeping what the running lab has) before asking for root.
        //    A lab that is up is changed by a plan of the difference alone: the whole plan is
        //    made only for a build.
        var intact = intactLab(state)
        var prepared = try prepare(loaded: loaded, text: text, running: intact?.topology, planning: intact == nil)
        try Privileges.check()
        try Privileges.ensureBridgeNetfilter { ErrorReportingNotice.print($0) }
        if prepared.isPlanned { try Privileges.checkTools(for: prepared.plan) }
        let lock = try LabLock(path: state.lockPath, waiting: lockWaiting)
        defer { withExtendedLifetime(lock) {} }
        // Another up or down may have run while we waited for the lock.
        let current = intactLab(state, known: intact)
        if current?.data != intact?.data {
            intact = current
            prepared = try prepare(loaded: loaded, text: text, running: intact?.topology, planning: intact == nil)
        }
        let running = intact?.topology

        // 3. A lab that is up: change it in place. If that fails half-way, rebuild it whole.
        if let running {
            if state.isAppliedFile(text) {
                return try unchanged(running, warnings: loaded.warnings, state: state, started: started)
            }
            let change = Reconciler.change(from: running, to: prepared.topology, planned: prepared.isPlanned ? prepared.plan : nil)
            // What the change needs (conntrack) is checked before anything is touched.
            try Privileges.checkTools(for: change.plan)
            // Faults in force are taken out for the change and put back after it: the change is
            // worked out for the lab as its file has it.
            var faults = FaultSet()
            do {
                faults = try FaultController.suspend(running, state: state)
                let result = try reconcile(from: running, runningData: intact?.data, to: prepared, change: change, state: state,
                                           started: started)
                FaultController.resume(faults, on: result.topology, state: state)
                return result
            } catch let error as Interruption.Interrupted {
                throw error
            } catch {
                ErrorReportingNotice.print("changing lab \(state.lab) in place failed (\(error)); rebuilding it from the file")
                if !faults.isEmpty {
                    ErrorReportingNotice.print("its run-time faults are gone with the rebuild (\(faults.records.map(\.fault.key).joined(separator: "; ")))")
                }
            }
        }
        let whole = planned(prepared)
        if !prepared.isPlanned { try Privileges.checkTools(for: whole.plan) }
        return try rebuild(whole, text: text, state: state, started: started)
    }

    /// 0. The very text a lab that is up was built from, which parsed without warnings: that
    ///    lab, unchanged, found without parsing the text again (parsing was half of an unchanged
    ///    `up` of 200 pods). nil when no lab matches; the usual path then decides.
    static func unchangedWithoutParsing(_ text: String, started: DispatchTime, lockWaiting: () -> Void) throws -> UpResult? {
        guard let lab = LabState.labs().first(where: { LabState(lab: $0).isCleanAppliedFile(text) }) else { return nil }
        let state = LabState(lab: lab)
        try Privileges.check()
        let lock = try LabLock(path: state.lockPath, waiting: lockWaiting)
        defer { withExtendedLifetime(lock) {} }
        guard state.isCleanAppliedFile(text), let running = intactTopology(state) else { return nil }
        UpDownProgress.shared.setLab(lab)
        return try unchanged(running, warnings: [], state: state, started: started)
    }

    /// The lab is as the file says; processes are left alone if they run.
    static func unchanged(_ topology: Topology, warnings: [LabFileError], state: LabState, started: DispatchTime) throws -> UpResult {
        var result = UpResult(topology: topology, plan: Plan(lab: topology.lab, operations: [], incremental: true),
                              unchanged: true, replaced: false, seconds: 0, timings: PhaseTimings(), warnings: warnings)
        // Nothing is decided again, so the host's table is not read (an unchanged up stays cheap).
        result.neighbours = .unchanged(topology)
        if needsSupervisor(topology), SupervisorProcess.running(lab: state.lab, state: state) == nil {
            // Its containers may still run (a supervisor killed with SIGKILL): end them, so
            // the new supervisor does not start a second copy beside them.
            SupervisorProcess.stopEverything(lab: state.lab, state: state, namespaces: topology.allNetns)
            result.unchanged = false
            try startContainers(topology, state: state, into: &result)
        }
        result.seconds = elapsed(since: started)
        return result
    }

    /// A changed file, a damaged lab or a crash's leftovers: the old lab goes, the new one is
    /// built from scratch; on failure everything this run made is removed again.
    static func rebuild(_ prepared: Prepared, text: String, state: LabState, started: DispatchTime) throws -> UpResult {
        let leftovers = Teardown.namespaces(of: state.lab, journal: state.exists ? state.journal() : nil)
        let replaced = state.exists || !leftovers.isEmpty
        let faults = FaultController.load(state)
        if !faults.isEmpty {
            ErrorReportingNotice.print("the lab is rebuilt from its file, so its run-time faults are gone (\(faults.records.map(\.fault.key).joined(separator: "; ")))")
        }
        SupervisorProcess.stopEverything(lab: state.lab, state: state, namespaces: leftovers)
        try Teardown.remove(namespaces: leftovers)
        try state.removeDirectory()

        try state.createDirectory()
        let topology = prepared.topology
        // Encoding a 1,000-pod topology takes tens of milliseconds of this thread, which the
        // apply waits for; it is written beside the apply instead, and waited for before the
        // applied file says the lab is up (a lab without it is rebuilt, as a half-built one is)
        // and before the supervisor, which reads it, starts.
        let savingTopology = BackgroundWork { try state.saveTopology(topology) }

        let applier = Applier(journal: state.journal(), rulesDirectory: state.rulesDirectory)
        // Before the containers start (each binds its pod's file over /etc/resolv.conf), on the
        // core the firewall loads leave idle while the links are still being made.
        applier.afterFirewallLoads = ("resolv.conf", { try ResolverFiles.sync(topology) })
        do {
            try applier.apply(prepared.plan)
            applier.close()
            try savingTopology.wait().get()
            // Written last: its presence is what says "this file is fully applied", so an
            // interrupted up is rebuilt by the next one instead of being taken as up to date.
            try state.saveAppliedFile(text, hadWarnings: !prepared.warnings.isEmpty)
            state.markSections(of: text, agree: prepared.textSectionsAgree)
        } catch {
            // Roll back what this run made; the state goes too, so the host is as before.
            applier.close()
            _ = savingTopology.wait()
            _ = try? Teardown.remove(namespaces: Teardown.namespaces(of: state.lab, journal: state.journal()))
            try? state.removeDirectory()
            removeLockFile(state)
            throw error
        }
        var result = UpResult(topology: prepared.topology, plan: prepared.plan, unchanged: false, replaced: replaced,
                              seconds: 0, timings: applier.timings, warnings: prepared.warnings)
        result.neighbours = prepared.neighbours
        if needsSupervisor(prepared.topology) {
            do {
                try startContainers(prepared.topology, state: state, into: &result)
                // Ctrl-C while the containers started is still Ctrl-C during `up`.
                try Interruption.check()
            } catch let error as Interruption.Interrupted {
                SupervisorProcess.stopEverything(lab: state.lab, state: state, namespaces: prepared.topology.allNetns)
                _ = try? Teardown.remove(namespaces: Teardown.namespaces(of: state.lab, journal: state.journal()))
                try? state.removeDirectory()
                removeLockFile(state)
                throw error
            }
        }
        result.seconds = elapsed(since: started)
        return result
    }

    /// Containers to run, or delay lines to serve.
    static func needsSupervisor(_ topology: Topology) -> Bool {
        Supervisor.isNeeded(for: topology, faults: FaultController.load(LabState(lab: topology.lab)))
    }

    /// Starts the supervisor and waits until each container has started (or failed to).
    static func startContainers(_ topology: Topology, state: LabState, into result: inout UpResult) throws {
        let started = DispatchTime.now()
        UpDownProgress.shared.begin("starting containers")
        let report = try SupervisorProcess.start(lab: topology.lab, state: state)
        var timings = result.timings
        timings.add("containers", since: started, count: report?.containers.count ?? 0)
        result.timings = timings
        result.containerCount = report?.containers.count ?? 0
        result.troubledContainers = report?.containers.filter { $0.state != .running } ?? []
    }

    /// Called while holding the lock, so nothing is left of a lab that is gone. A waiter that
    /// locked the unlinked file notices and retries (`LabLock`); `/run/lab` goes too when it is
    /// empty (rmdir fails otherwise, which is what we want).
    static func removeLockFile(_ state: LabState) {
        unlink(state.lockPath)
        rmdir(state.root)
    }

    public struct DownResult: Sendable {
        public var lab: String
        public var namespaces: Int
        public var hadState: Bool
    }

    /// Removes everything of `lab`, with or without its state directory.
    public static func down(lab: String, lockWaiting: () -> Void = {}) throws -> DownResult {
        try Privileges.check()
        let state = LabState(lab: lab)
        let lock = try LabLock(path: state.lockPath, waiting: lockWaiting)
        let hadState = state.exists
        let namespaces = Teardown.namespaces(of: lab, journal: hadState ? state.journal() : nil)
        UpDownProgress.shared.setLab(lab)
        UpDownProgress.shared.begin("stopping processes")
        // Processes first: a container must not outlive its pod.
        SupervisorProcess.stopEverything(lab: lab, state: state, namespaces: namespaces)
        let removed = try Teardown.remove(namespaces: namespaces)
        try state.removeDirectory()
        removeLockFile(state)
        withExtendedLifetime(lock) {}
        return DownResult(lab: lab, namespaces: removed, hadState: hadState)
    }

    /// Labs that are up: those with state, plus namespaces (or pod resolver directories) of
    /// labs whose state is gone.
    public static func labsUp() -> [String] {
        var labs = Set(LabState.labs())
        for name in NetworkNamespace.list() + ResolverFiles.allLabDirectories() where name.hasPrefix("lab.") {
            let parts = name.split(separator: ".")
            if parts.count >= 3 { labs.insert(String(parts[1])) }
        }
        return labs.sorted()
    }

    /// The lab a command means: the one named, or the only one up.
    public static func resolveLab(_ name: String?) throws -> String {
        let labs = labsUp()
        if let name {
            guard labs.contains(name) else { throw LookupError.unknownLab(name, known: labs) }
            return name
        }
        switch labs.count {
        case 0: throw LookupError.noLab
        case 1: return labs[0]
        default: throw LookupError.ambiguousLab(labs)
        }
    }

    public static func topology(of lab: String) throws -> Topology {
        let state = LabState(lab: lab)
        do {
            return try state.topology()
        } catch {
            throw RuntimeError.corruptState(lab: lab, reason: "\(state.topologyPath): \(error.localizedDescription)")
        }
    }

    /// The namespace of a pod, node or host, by bare or qualified name (`pod/web-1`).
    public static func namespace(of reference: String, in topology: Topology) throws -> (namespace: String, hostname: String?) {
        if let pod = try namespacedPod(reference, in: topology) { return (pod.netns, pod.name) }
        let parsed = Reference(reference)
        let name = parsed?.name ?? reference
        let kind = parsed?.kind
        var matches: [(String, String?)] = []
        if kind == nil || kind == .pod, let pod = topology.pod(named: name) { matches.append((pod.netns, pod.name)) }
        if kind == nil || kind == .node, let node = topology.node(named: name) { matches.append((node.netns, nil)) }
        if kind == nil || kind == .host, let host = topology.host(named: name) { matches.append((host.netns, nil)) }
        guard let first = matches.first else {
            let known = topology.pods.map(\.name) + topology.nodes.map { "node/\($0.name)" } + topology.hosts.map { "host/\($0.name)" }
            throw LookupError.unknownObject(reference, lab: topology.lab, known: known)
        }
        return first
    }

    /// A pod named as kubectl names it, `NAMESPACE/POD` (`kube-system/coredns`); nil for any
    /// other form of reference (`pod/web-1`, `node/node-1`, a bare name). A pod of that name
    /// in another namespace is an error that says where it is.
    public static func namespacedPod(_ reference: String, in topology: Topology) throws -> PodTopology? {
        let parts = reference.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, Reference.Kind(rawValue: String(parts[0])) == nil else { return nil }
        let namespace = String(parts[0]), name = String(parts[1])
        if let pod = topology.pod(named: name), pod.namespace == namespace { return pod }
        let known = topology.pods.map { "\($0.namespace)/\($0.name)" }
        throw LookupError.unknownObject(reference, lab: topology.lab, known: known)
    }

    static func elapsed(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

extension LabController {
    /// A container of a pod by name, or the pod's only container when `name` is nil.
    public static func container(_ name: String?, ofPod pod: String, in topology: Topology) throws -> (pod: PodTopology, container: ContainerTopology) {
        guard let found = try namespacedPod(pod, in: topology) ?? topology.pod(named: pod) else {
            throw LookupError.unknownObject(pod, lab: topology.lab, known: topology.pods.map(\.name))
        }
        let names = found.containers.map(\.name)
        if let name {
            guard let container = found.containers.first(where: { $0.name == name }) else {
                throw LookupError.unknownContainer(name, pod: pod, known: names)
            }
            return (found, container)
        }
        guard found.containers.count == 1 else {
            throw LookupError.unknownContainer("(none given; use -c)", pod: pod, known: names)
        }
        return (found, found.containers[0])
    }
}

/// Notices go to stderr, prefixed like every other message of lab.
enum ErrorReportingNotice {
    static func print(_ text: String) {
        FileHandle.standardError.write(Data("lab: \(text)\n".utf8))
    }
}
