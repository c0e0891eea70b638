import Foundation
import LabKernel
import LabPlan
import LabProbe
import LabSpec

/// The core of `lab verify`: the lab's probes (or the Kubernetes model check), resolved against
/// its topology and run natively from inside each source namespace.
public enum LabVerifier {
    public struct Options: Sendable {
        public var model = false
        /// The model check over every ordered pod pair instead of the covering set.
        public var allPairs = false
        public var only: String?
        public var parallel: Int?
        /// Run only the scenarios whose name matches, and not the lab's own probes.
        public var scenario: String?

        /// Every default; set what differs.
        public init() {}
    }

    /// A scenario about to run: its faults, and its probes as tasks.
    public struct Scenario: Sendable {
        public var name: String
        public var faults: [Fault]
        public var tasks: [ProbeTask]
    }

    /// What is about to run: the probes, resolved, in the report's order.
    public struct Plan: Sendable {
        public var lab: String
        public var tasks: [ProbeTask]
        /// True when the lab had no probes (or `--model`) and the model check runs.
        public var modelCheck: Bool
        /// The model check's first line: what it covers.
        public var coverage: String?
        public var parallel: Int?
        /// Run after `tasks`, one at a time, each under its faults.
        public var scenarios: [Scenario] = []
    }

    public struct Outcome: Sendable {
        public var lab: String
        public var results: [ProbeResult]
        public var seconds: Double
        /// True when the lab had no probes (or `--model`) and the model check ran.
        public var modelCheck: Bool
    }

    /// The probes of a lab that is up. `text` is the lab file to take probes from (the applied
    /// one by default); its name must be the lab's.
    public static func plan(text: String, file: String, options: Options) throws -> Plan {
        let loaded = try LabFileLoader.parse(text, file: file)
        // Built on the running lab's allocations, so a pod has the address it really has even
        // after changes that an allocation from scratch would number differently.
        let running = try? LabState(lab: loaded.lab.name).topology()
        let topology = try TopologyBuilder.build(loaded.lab, previous: running)
        let lab = loaded.lab.name
        try Privileges.check()
        let up = LabController.labsUp()
        guard up.contains(lab) else { throw LookupError.unknownLab(lab, known: up) }
        // `--scenario` picks scenarios to work on; the lab's own probes are then left out.
        let ownProbes = options.scenario == nil
        let modelCheck = ownProbes && (options.model || loaded.lab.probes.isEmpty)
        let coverage: ModelCheck.Coverage = options.allPairs ? .allPairs : .covering
        var probes = !ownProbes ? [] : modelCheck ? ModelCheck.probes(topology, coverage: coverage)
            : ProbeResolver.resolve(loaded.lab, topology: topology)
        let only = try options.only.map { try NSRegularExpression(pattern: $0) }
        func matching(_ probes: [ResolvedProbe]) -> [ResolvedProbe] {
            guard let only else { return probes }
            return probes.filter { only.firstMatch(in: $0.name, range: NSRange($0.name.startIndex..., in: $0.name)) != nil }
        }
        probes = matching(probes)
        var scenarios = ResolvedScenario.all(loaded.lab, topology: topology)
        if let picked = try options.scenario.map({ try NSRegularExpression(pattern: $0) }) {
            scenarios = scenarios.filter { picked.firstMatch(in: $0.name, range: NSRange($0.name.startIndex..., in: $0.name)) != nil }
        }
        if options.model { scenarios = [] }
        var namespaces: [String: NetworkNamespace] = [:]
        var resolvConfs: [String: String?] = [:]
        func tasks(_ probes: [ResolvedProbe]) throws -> [ProbeTask] {
            for probe in probes where namespaces[probe.fromNetns] == nil {
                namespaces[probe.fromNetns] = try NetworkNamespace.open(probe.fromNetns)
            }
            return probes.map { probe in
                var task = ProbeTask(probe, namespace: namespaces[probe.fromNetns])
                if task.lookup != nil { usePodResolver(&task, netns: probe.fromNetns, files: &resolvConfs) }
                return task
            }
        }
        var plan = Plan(lab: lab, tasks: try tasks(probes), modelCheck: modelCheck,
                        coverage: modelCheck ? ModelCheck.summary(topology, coverage: coverage) : nil, parallel: options.parallel)
        plan.scenarios = try scenarios.map { Scenario(name: $0.name, faults: $0.faults, tasks: try tasks(matching($0.probes))) }
        return plan
    }

    /// A lookup uses the pod's own resolv.conf, where it has one (`ip netns exec` shows
    /// processes the same file), and the model's kubelet file otherwise. `files` keeps each
    /// namespace's file (or its absence) once read.
    static func usePodResolver(_ task: inout ProbeTask, netns: String, files: inout [String: String?]) {
        guard let lookup = task.lookup else { return }
        let text = files[netns] ?? {
            let read = try? String(contentsOfFile: ResolverFiles.path(netns: netns), encoding: .utf8)
            files[netns] = read
            return read
        }()
        guard let text, let fromFile = lookup.reading(resolvConf: text) else { return }
        task.lookup = fromFile
        if case .dns = task.action { task.endpoint = fromFile.server }
    }

    /// Runs a plan's own probes, streaming: see `ProbeEngine.stream`. False when `stop` ended
    /// it early.
    @discardableResult
    public static func run(_ plan: Plan, stop: Int32? = nil, tick: () -> Void = {},
                           onResult: (Int, ProbeResult) -> Void) -> Bool {
        run(plan.tasks, parallel: plan.parallel, stop: stop, tick: tick, onResult: onResult)
    }

    /// Runs `tasks`, streaming: see `ProbeEngine.stream`.
    @discardableResult
    public static func run(_ tasks: [ProbeTask], parallel: Int?, stop: Int32? = nil, tick: () -> Void = {},
                           onResult: (Int, ProbeResult) -> Void) -> Bool {
        var engineOptions = ProbeEngine.Options()
        if let parallel { engineOptions.parallel = parallel }
        return ProbeEngine(options: engineOptions).stream(tasks, stop: stop, tick: tick, onResult: onResult)
    }

    /// Runs the plan's scenarios in turn (`ScenarioRun`: apply the faults, run the probes,
    /// clear what was applied — also on failure and when `stop` becomes readable), reporting
    /// each scenario's start, its probes' results and its outcome. Returns the outcomes; the
    /// last is marked interrupted when a signal ended the run.
    public static func runScenarios(_ plan: Plan, faults: any ScenarioFaultApplier, stop: Int32? = nil, tick: () -> Void = {},
                                    starting: (Int) -> Void, onResult: (Int, Int, ProbeResult) -> Void,
                                    finished: (ScenarioRun.Outcome) -> Void) -> [ScenarioRun.Outcome] {
        ScenarioRun.run(plan.scenarios.map(\.faults), starting: starting, apply: { fault in
            try faults.apply(fault, lab: plan.lab)
        }, clear: { applied in
            try faults.clear(applied, lab: plan.lab)
        }, probes: { index in
            run(plan.scenarios[index].tasks, parallel: plan.parallel, stop: stop, tick: tick) { onResult(index, $0, $1) }
        }, interrupted: { stop.map(Self.readable) ?? false }, finished: finished)
    }

    /// Whether a stop descriptor has something to read (a signal arrived), without reading it.
    static func readable(_ fd: Int32) -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, 0) > 0 && poller.revents & Int16(POLLIN) != 0
    }

    /// Plans and runs, keeping every result (for callers that want them all).
    public static func verify(text: String, file: String, options: Options,
                              onResult: (ProbeResult) -> Void = { _ in }) throws -> Outcome {
        let plan = try plan(text: text, file: file, options: options)
        var results = [ProbeResult?](repeating: nil, count: plan.tasks.count)
        let started = Date()
        run(plan) { index, result in
            results[index] = result
            onResult(result)
        }
        return Outcome(lab: plan.lab, results: results.map { $0! }, seconds: Date().timeIntervalSince(started),
                       modelCheck: plan.modelCheck)
    }
}
