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

        public init(model: Bool = false, allPairs: Bool = false, only: String? = nil, parallel: Int? = nil) {
            self.model = model
            self.allPairs = allPairs
            self.only = only
            self.parallel = parallel
        }
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
        let modelCheck = options.model || loaded.lab.probes.isEmpty
        let coverage: ModelCheck.Coverage = options.allPairs ? .allPairs : .covering
        var probes = modelCheck ? ModelCheck.probes(topology, coverage: coverage) : ProbeResolver.resolve(loaded.lab, topology: topology)
        if let only = options.only {
            let pattern = try NSRegularExpression(pattern: only)
            probes = probes.filter { pattern.firstMatch(in: $0.name, range: NSRange($0.name.startIndex..., in: $0.name)) != nil }
        }
        var namespaces: [String: NetworkNamespace] = [:]
        for probe in probes where namespaces[probe.fromNetns] == nil {
            namespaces[probe.fromNetns] = try NetworkNamespace.open(probe.fromNetns)
        }
        var resolvConfs: [String: String?] = [:]
        let tasks = probes.map { probe in
            var task = ProbeTask(probe, namespace: namespaces[probe.fromNetns])
            // A lookup uses the pod's own resolv.conf, where it has one (`ip netns exec` shows
            // processes the same file), and the model's kubelet file otherwise.
            if let lookup = task.lookup {
                let text = resolvConfs[probe.fromNetns] ?? {
                    let read = try? String(contentsOfFile: resolvConfPath(of: probe.fromNetns), encoding: .utf8)
                    resolvConfs[probe.fromNetns] = read
                    return read
                }()
                if let text, let fromFile = lookup.reading(resolvConf: text) {
                    task.lookup = fromFile
                    if case .dns = task.action { task.endpoint = fromFile.server }
                }
            }
            return task
        }
        return Plan(lab: lab, tasks: tasks, modelCheck: modelCheck,
                    coverage: modelCheck ? ModelCheck.summary(topology, coverage: coverage) : nil, parallel: options.parallel)
    }

    /// Where `ip netns exec` finds a namespace's own resolv.conf.
    static func resolvConfPath(of netns: String) -> String { "/etc/netns/\(netns)/resolv.conf" }

    /// Runs a plan, streaming: see `ProbeEngine.stream`. False when `stop` ended it early.
    @discardableResult
    public static func run(_ plan: Plan, stop: Int32? = nil, tick: () -> Void = {},
                           onResult: (Int, ProbeResult) -> Void) -> Bool {
        var engineOptions = ProbeEngine.Options()
        if let parallel = plan.parallel { engineOptions.parallel = parallel }
        return ProbeEngine(options: engineOptions).stream(plan.tasks, stop: stop, tick: tick, onResult: onResult)
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
