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
        public var seconds: Double
        public var timings: PhaseTimings
        public var warnings: [LabFileError]
    }

    /// Validates and plans without touching anything: the first half of `up`, all of
    /// `validate` and `up --dry-run`.
    public static func prepare(path: String) throws -> (file: LabFile, text: String, topology: Topology, plan: Plan, warnings: [LabFileError]) {
        let loaded = try LabFileLoader.load(path: path)
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return try prepare(loaded: loaded, text: text)
    }

    public static func prepare(text: String, file: String) throws -> (file: LabFile, text: String, topology: Topology, plan: Plan, warnings: [LabFileError]) {
        try prepare(loaded: LabFileLoader.parse(text, file: file), text: text)
    }

    static func prepare(loaded: LoadedLabFile, text: String) throws -> (file: LabFile, text: String, topology: Topology, plan: Plan, warnings: [LabFileError]) {
        let topology = try TopologyBuilder.build(loaded.lab)
        return (loaded.lab, text, topology, Planner.plan(topology), loaded.warnings)
    }

    /// Builds the lab of `text` (DESIGN §7 `up`). Idempotent: the same file on a lab that is up
    /// and intact does nothing; a changed file or a damaged lab is rebuilt.
    public static func up(text: String, file: String, lockWaiting: () -> Void = {}) throws -> UpResult {
        let started = DispatchTime.now()
        let prepared = try prepare(text: text, file: file)
        try Privileges.check()
        try Privileges.ensureBridgeNetfilter()

        let state = LabState(lab: prepared.topology.lab)
        let lock = try LabLock(path: state.lockPath, waiting: lockWaiting)
        defer { withExtendedLifetime(lock) {} }

        if state.exists, state.appliedFile() == text, (try? state.topology()) == prepared.topology,
           prepared.topology.namespaces.allSatisfy(NetworkNamespace.exists) {
            return UpResult(topology: prepared.topology, plan: prepared.plan, unchanged: true, replaced: false,
                            seconds: elapsed(since: started), timings: PhaseTimings(), warnings: prepared.warnings)
        }

        // A changed file, a damaged lab or a crash's leftovers: clear the old one first.
        let leftovers = Teardown.namespaces(of: state.lab, journal: state.exists ? state.journal() : nil)
        let replaced = state.exists || !leftovers.isEmpty
        try Teardown.remove(namespaces: leftovers)
        try state.removeDirectory()

        try state.createDirectory()
        try state.saveAppliedFile(text)
        try state.saveTopology(prepared.topology)

        let applier = Applier(journal: state.journal())
        do {
            try applier.apply(prepared.plan)
            applier.close()
        } catch {
            // Roll back what this run made; the state goes too, so the host is as before.
            applier.close()
            _ = try? Teardown.remove(namespaces: Teardown.namespaces(of: state.lab, journal: state.journal()))
            try? state.removeDirectory()
            throw error
        }
        return UpResult(topology: prepared.topology, plan: prepared.plan, unchanged: false, replaced: replaced,
                        seconds: elapsed(since: started), timings: applier.timings, warnings: prepared.warnings)
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
        let removed = try Teardown.remove(namespaces: Teardown.namespaces(of: lab, journal: hadState ? state.journal() : nil))
        try state.removeDirectory()
        // Nobody else can be inside: we hold the lock. Remove its file so nothing is left.
        unlink(state.lockPath)
        withExtendedLifetime(lock) {}
        rmdir(state.root) // only succeeds when no other lab has state; /run/lab is ours alone

        return DownResult(lab: lab, namespaces: removed, hadState: hadState)
    }

    /// Labs that are up: those with state, plus namespaces of labs whose state is gone.
    public static func labsUp() -> [String] {
        var labs = Set(LabState.labs())
        for name in NetworkNamespace.list() where name.hasPrefix("lab.") {
            let parts = name.split(separator: ".")
            if parts.count >= 3 { labs.insert(String(parts[1])) }
        }
        return labs.sorted()
    }

    /// The lab a command means: the one named, or the only one up.
    public static func resolveLab(_ name: String?) throws -> String {
        let labs = labsUp()
        if let name {
            guard labs.contains(name) else { throw RuntimeError.unknownLab(name, known: labs) }
            return name
        }
        switch labs.count {
        case 0: throw RuntimeError.noLab
        case 1: return labs[0]
        default: throw RuntimeError.ambiguousLab(labs)
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
        let parsed = Reference(reference)
        let name = parsed?.name ?? reference
        let kind = parsed?.kind
        var matches: [(String, String?)] = []
        if kind == nil || kind == .pod, let pod = topology.pod(named: name) { matches.append((pod.namespace, pod.name)) }
        if kind == nil || kind == .node, let node = topology.node(named: name) { matches.append((node.namespace, nil)) }
        if kind == nil || kind == .host, let host = topology.host(named: name) { matches.append((host.namespace, nil)) }
        guard let first = matches.first else {
            let known = topology.pods.map(\.name) + topology.nodes.map { "node/\($0.name)" } + topology.hosts.map { "host/\($0.name)" }
            throw RuntimeError.unknownObject(reference, lab: topology.lab, known: known)
        }
        return first
    }

    static func elapsed(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
