import Foundation
import LabKernel
import LabPlan
import LabSpec

extension LabController {
    /// `lab up` of the file a lab is up from with its `networkPolicies` section alone changed:
    /// only that section is parsed and checked, against the running lab, and the change is
    /// applied as `Reconciler.policyChange` works it out, without parsing, checking and
    /// allocating the rest of the file again. nil whenever that cannot be shown to give what the
    /// whole path gives; `up` then takes the whole path, which also reports any error of the
    /// file (so an error here never reaches the user in other words).
    ///
    /// What must hold, each checked:
    /// 1. The applied file and the new one cut into the same top-level sections
    ///    (`LabFileSections`), all byte for byte the same but `networkPolicies`; the applied
    ///    file's sections were those of its parse (`LabState.sectionsAgree`) and it parsed
    ///    without warnings (so the rest of the new file has none either).
    /// 2. The lab is up and intact, with policies, without run-time faults, its supervisor
    ///    running if it needs one.
    /// 3. The section parses and checks alone, against the running lab's pods and namespaces
    ///    (`LabFileLoader.parsePolicies`), and the policies keep the lab's namespaces. Its
    ///    items that the applied file had, byte for byte, are taken from the running lab's
    ///    policies instead of decoded again.
    static func policyEdit(text: String, file: String, started: DispatchTime, lockWaiting: () -> Void) throws -> UpResult? {
        guard let new = LabFileSections(text), let name = new.section("name") else { return nil }
        for lab in LabState.labs() {
            let state = LabState(lab: lab)
            guard let applied = state.appliedFile(), let old = LabFileSections(applied), old.section("name")?.text.utf8.elementsEqual(name.text.utf8) == true else { continue }
            return try policyEdit(text: text, file: file, sections: new, applied: applied, appliedSections: old, state: state,
                                  started: started, lockWaiting: lockWaiting)
        }
        return nil
    }

    private static func policyEdit(text: String, file: String, sections: LabFileSections, applied: String,
                                   appliedSections: LabFileSections, state: LabState, started: DispatchTime,
                                   lockWaiting: () -> Void) throws -> UpResult? {
        // 1.
        guard sections.changedKeys(from: appliedSections) == ["networkPolicies"], let section = sections.section("networkPolicies"),
              let appliedSection = appliedSections.section("networkPolicies"), !appliedSection.text.utf8.contains(UInt8(ascii: "&")),
              state.isCleanAppliedFile(applied), state.sectionsAgree(applied) else { return nil }
        // 2. and 3. The running lab is read on other threads while the section is parsed: it
        //    is needed only to check the section.
        let reading = BackgroundWork { policyLab(state) }
        let parsing = DispatchTime.now()
        var lab: (intact: IntactLab, running: Topology, partial: Bool)?
        // The items of the section that the applied file had are its policies as the running lab
        // keeps them (the lab's policies are the file's, in file order).
        let parsed = try? LabFileLoader.parsePolicies(section, file: file, previous: (appliedSection, { lab?.running.policy?.policies })) {
            guard case .success(let read?) = reading.wait(), let running = policyEditable(read.lab.topology, state: state) else { return nil }
            lab = (read.lab, running, read.partial)
            return policyCheckContext(running)
        }
        guard let (intact, running, partial) = lab, let loaded = parsed ?? nil,
              !loaded.policies.isEmpty, let namespaces = running.policy?.namespaces,
              sameNamespaces(running.policy?.policies ?? [], loaded.policies, in: running) else { return nil }
        var timings = PhaseTimings()
        timings.add("policy section", since: parsing, count: loaded.policies.count)
        var target = running
        target.policy = PolicyTopology(namespaces: namespaces, policies: loaded.policies)

        UpDownProgress.shared.setLab(state.lab)
        UpDownProgress.shared.begin("planning")
        try Privileges.check()
        try Privileges.ensureBridgeNetfilter { ErrorReportingNotice.print($0) }
        let lock = try LabLock(path: state.lockPath, waiting: lockWaiting)
        defer { withExtendedLifetime(lock) {} }
        // Another up or down may have run while we waited for the lock. The namespaces were
        // found a moment ago (`policyLab`): the same bytes of the state are the same lab.
        guard state.isAppliedFile(applied), (try? state.topologyData()) == intact.data, policyEditable(running, state: state) != nil
        else { return nil }
        // Only the rules of the policies are rendered from a partial topology (`PolicyPodsFile`),
        // and it is never saved: `topology.json` gets the new policies in its own bytes, encoded
        // on another thread while the rules are worked out.
        let encoding = BackgroundWork { [target] in LabState.topologyJSON(target, changingPoliciesOf: running, in: intact.data) }
        guard let change = Reconciler.policyChange(from: running, to: target, saved: { state.savedRules(netns: $0, loader: $1) })
                ?? (partial ? nil : Optional(Reconciler.change(from: running, to: target, planned: nil))), change.onlyPolicies,
              case .success(let targetData?) = encoding.wait() else { return nil }
        try Privileges.checkTools(for: change.plan)
        // The pods stay, and so does every neighbour entry: under `auto` the lab keeps its mode
        // whatever the host's table holds, and reading that table (every lab's topology) cost
        // more than the rest of the change.
        let setting = running.neighbourSetting
        let neighbours = setting == .auto ? NeighbourDecision.unchanged(running) : NeighbourDecision.decide(
            setting: setting, need: NeighbourEntries.worstCase(target), host: setting == .static ? nil : .current(),
            running: (running.neighbours, NeighbourEntries.worstCase(running)))
        var prepared = Prepared(file: nil, text: text, topology: target,
                                plan: Plan(lab: target.lab, operations: []), warnings: loaded.warnings, neighbours: neighbours,
                                isPlanned: false)
        prepared.sectionsAgree = true
        var result = try reconcile(from: running, to: prepared, targetData: targetData, change: change, state: state, started: started)
        // `--timings` shows this path was taken: its phase is the section's parse and check.
        for phase in timings.phases { result.timings.add(seconds: phase.seconds, to: phase.name, count: phase.count) }
        return result
    }

    /// The running lab as `intactLab` reads it, with its pods from `policy-pods.tsv` when that
    /// file holds them (`partial`: `LabState.policyTopology`), else decoded whole. The caller
    /// has read the applied file, and reads it again under the lock.
    private static func policyLab(_ state: LabState) -> (lab: IntactLab, partial: Bool)? {
        guard let data = try? state.topologyData() else { return nil }
        if let topology = state.policyTopology(from: data), NetworkNamespace.allExist(topology.allNetns) {
            return (IntactLab(topology: topology, data: data), true)
        }
        return intactLab(state).map { ($0, false) }
    }

    /// `topology` when a change of its policies alone may skip the rest: it has policies, no
    /// run-time fault is in force (a change suspends and resumes them), and its supervisor
    /// runs if it needs one (else the whole path starts it).
    private static func policyEditable(_ topology: Topology, state: LabState) -> Topology? {
        guard topology.policy != nil, FaultController.load(state).isEmpty else { return nil }
        if needsSupervisor(topology), SupervisorProcess.running(lab: state.lab, state: state) == nil { return nil }
        return topology
    }

    /// What the checks of the policies read of the file, from the running lab it became: the
    /// file's pods (not the cluster DNS's), their containers' port names, the namespaces.
    static func policyCheckContext(_ topology: Topology) -> PolicyCheckContext {
        let pods = topology.workloadPods
        return PolicyCheckContext(
            namespaces: topology.policy?.namespaces ?? [],
            pods: pods.map { PolicyCheckContext.Pod(namespace: $0.namespace, labels: $0.labels) },
            declaredPorts: Set(pods.flatMap { $0.containers.flatMap { $0.ports.compactMap(\.name) } }))
    }

    /// Whether the lab's namespaces (`LabFile.allNamespaces`: those listed, then those the
    /// pods, services and policies use, in that order) stay the same with `new` policies for
    /// `old`: true when the namespaces that no pod or service of the file uses come first in
    /// the same order in both. (A namespace only a policy uses may also be listed; then it is
    /// the same either way, but telling it apart would need the file's `namespaces:`.)
    static func sameNamespaces(_ old: [NetworkPolicySpec], _ new: [NetworkPolicySpec], in topology: Topology) -> Bool {
        let dnsService = topology.dnsService
        let used = Set(topology.workloadPods.map(\.namespace) + topology.services.filter { $0 != dnsService }.map(\.namespace))
        func policyOnly(_ policies: [NetworkPolicySpec]) -> [String] {
            var seen = used
            return policies.map(\.namespace).filter { seen.insert($0).inserted }
        }
        return policyOnly(old) == policyOnly(new)
    }
}
