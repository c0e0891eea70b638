import Foundation
import LabKernel
import LabPlan
import LabSpec

/// The core of `lab verify`: the lab's probes (or the Kubernetes model check), resolved against
/// its topology and run natively from inside each source namespace.
public enum LabVerifier {
    public struct Options: Sendable {
        public var model = false
        public var only: String?
        public var parallel: Int?

        public init(model: Bool = false, only: String? = nil, parallel: Int? = nil) {
            self.model = model
            self.only = only
            self.parallel = parallel
        }
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
    public static func verify(text: String, file: String, options: Options,
                              onResult: (ProbeResult) -> Void = { _ in }) throws -> Outcome {
        let loaded = try LabFileLoader.parse(text, file: file)
        // Built on the running lab's allocations, so a pod has the address it really has even
        // after changes that an allocation from scratch would number differently.
        let running = try? LabState(lab: loaded.lab.name).topology()
        let topology = try TopologyBuilder.build(loaded.lab, previous: running)
        let lab = loaded.lab.name
        try Privileges.check()
        let up = LabController.labsUp()
        guard up.contains(lab) else { throw RuntimeError.unknownLab(lab, known: up) }
        let modelCheck = options.model || loaded.lab.probes.isEmpty
        var probes = modelCheck ? ModelCheck.probes(topology) : ProbeResolver.resolve(loaded.lab, topology: topology)
        if let only = options.only {
            let pattern = try NSRegularExpression(pattern: only)
            probes = probes.filter { pattern.firstMatch(in: $0.name, range: NSRange($0.name.startIndex..., in: $0.name)) != nil }
        }
        var namespaces: [String: NetworkNamespace] = [:]
        for name in Set(probes.map(\.fromNamespace)) {
            namespaces[name] = try NetworkNamespace.open(name)
        }
        let tasks = probes.map { ProbeTask($0, namespace: namespaces[$0.fromNamespace]) }
        var engineOptions = ProbeEngine.Options()
        if let parallel = options.parallel { engineOptions.parallel = parallel }
        let started = Date()
        let results = ProbeEngine(options: engineOptions).run(tasks, onResult: onResult)
        return Outcome(lab: lab, results: results, seconds: Date().timeIntervalSince(started), modelCheck: modelCheck)
    }
}
