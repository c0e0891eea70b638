import Foundation
import LabKernel
import LabPlan

extension LabController {
    /// `lab up` of a changed file on a lab that is up: applies only the difference
    /// (`Reconciler`), so untouched pods keep their interfaces, addresses and processes.
    ///
    /// 1. The applied file is removed first: until the new one is written at the end, the lab
    ///    counts as half-built, so a crash in between makes the next `up` rebuild it.
    /// 2. Containers of pods that go away are stopped before their namespaces are deleted (a
    ///    process or an agent socket inside a namespace would keep it alive).
    /// 3. The kernel difference, with existing settings of changed namespaces counting as done.
    /// 4. The pods' resolver files are written (and those of pods that went removed), the new
    ///    topology is saved and the supervisor converges on it: new containers start, changed
    ///    ones restart, unchanged ones keep their pids; the DNS answers from the new records.
    ///    A change of NetworkPolicies alone touches none of that: the resolver files stay and
    ///    a running supervisor is not asked to reload (it would read the topology again for
    ///    nothing).
    ///
    /// Throws on failure; `up` then rebuilds the lab from scratch (or, when interrupted, removes
    /// the namespaces this run created and leaves the rest for the next `up` to rebuild).
    ///
    /// `runningData`: the saved topology of `running`, as it is on disk. `targetData`: the saved
    /// topology of the target, when the caller made it (a change of the
    /// policies alone splices them into the running lab's saved bytes: `LabState.topologyJSON`).
    static func reconcile(from running: Topology, runningData: Data? = nil, to prepared: Prepared, targetData: Data? = nil, change: LabChange,
                          state: LabState, started: DispatchTime) throws -> UpResult {
        let target = prepared.topology
        let plan = change.plan

        // 1.
        unlink(state.appliedFilePath)

        // 2. Containers whose supervisor died (SIGKILL) would run on beside the copies a new
        //    supervisor starts, and keep removed pods' namespaces alive: they end first.
        let supervised = SupervisorProcess.running(lab: state.lab, state: state) != nil
        // A change of the policies alone leaves the supervisor be: its report, for the result
        // line, is read beside the kernel work.
        let reportReading = change.onlyPolicies && supervised ? BackgroundWork { state.supervisorReport() } : nil
        if !supervised, needsSupervisor(running) {
            SupervisorProcess.stopEverything(lab: state.lab, state: state, namespaces: running.allNetns)
        }
        let targetPods = target.podsByName
        let leaving = Set(running.pods.filter { targetPods[$0.name]?.netns != $0.netns }.map(\.name))
        if supervised, !leaving.isEmpty {
            var interim = running
            interim.pods.removeAll { leaving.contains($0.name) }
            try state.saveTopology(interim)
            _ = try SupervisorProcess.reload(lab: state.lab, state: state)
        }

        // 3.
        let applier = Applier(journal: state.journal(), rulesDirectory: state.rulesDirectory)
        applier.toleratesExisting = true
        do {
            try applier.apply(plan)
            applier.close()
        } catch let error as Interruption.Interrupted {
            applier.close()
            _ = try? Teardown.remove(namespaces: applier.created)
            throw error
        } catch {
            applier.close()
            throw error
        }

        // 4. Pods' resolver files first: a new container binds its pod's.
        var resolverTimings = PhaseTimings()
        if !change.onlyPolicies {
            let resolverStart = DispatchTime.now()
            resolverTimings.add("resolv.conf", since: resolverStart, count: try ResolverFiles.sync(target))
        }
        if let targetData {
            try targetData.write(to: URL(fileURLWithPath: state.topologyPath), options: .atomic)
        } else if let runningData, change.onlyPolicies {
            try state.saveTopology(target, previous: running, previousData: runningData)
        } else {
            try state.saveTopology(target)
        }
        saveRules(change.rules, of: change.rulesScope, unchanged: change.rulesKept, state: state)
        var result = UpResult(topology: target, plan: plan, unchanged: false, replaced: false,
                              seconds: 0, timings: applier.timings, warnings: prepared.warnings)
        result.changedInPlace = true
        for phase in resolverTimings.phases { result.timings.add(seconds: phase.seconds, to: phase.name, count: phase.count) }
        result.neighbours = prepared.neighbours
        if change.onlyPolicies, supervised, SupervisorProcess.running(lab: state.lab, state: state) != nil,
           FaultController.load(state).isEmpty, case .success(let report) = reportReading?.wait() {
            result.containerCount = report?.containers.count ?? 0
            result.troubledContainers = report?.containers.filter { $0.state != .running } ?? []
        } else if needsSupervisor(target) || SupervisorProcess.running(lab: state.lab, state: state) != nil {
            let began = DispatchTime.now()
            let report = try SupervisorProcess.reload(lab: state.lab, state: state)
            result.timings.add("containers", since: began, count: report?.containers.count ?? 0)
            result.containerCount = report?.containers.count ?? 0
            result.troubledContainers = report?.containers.filter { $0.state != .running } ?? []
        }
        try state.saveAppliedFile(prepared.text, hadWarnings: !prepared.warnings.isEmpty)
        state.markSections(of: prepared.text, agree: prepared.textSectionsAgree)
        result.seconds = elapsed(since: started)
        return result
    }

    /// `rules/<namespace>.rules` (and `.ipset`) hold each node's whole rules (`rules`: the
    /// loads of the new file's whole plan), as after a build — not the partial input a change
    /// loaded; the files of nodes that are gone, or lost their last service or policy, go.
    /// `scope`: the namespaces `rules` speaks for (nil: every one); the others' files stay.
    /// `unchanged`: the files that hold their rules already (`LabChange.rulesKept`), not written.
    static func saveRules(_ rules: [KernelOperation], of scope: Set<String>?, unchanged: Set<String> = [], state: LabState) {
        let whole = Dictionary(rules.compactMap { operation -> (String, String)? in
            if case .loadFirewall(let namespace, let loader, let rules) = operation { return ("\(namespace).\(loader.fileExtension)", rules) }
            return nil
        }, uniquingKeysWith: { _, last in last })
        let files = (try? FileManager.default.contentsOfDirectory(atPath: state.rulesDirectory)) ?? []
        for file in files {
            // `x.rules`, `x.ipset` and their loaders' output, `x.rules.log`.
            let kept = file.hasSuffix(".log") ? String(file.dropLast(".log".count)) : file
            guard kept.hasSuffix(".rules") || kept.hasSuffix(".ipset"), whole[kept] == nil else { continue }
            if let scope, let dot = kept.lastIndex(of: "."), !scope.contains(String(kept[..<dot])) { continue }
            unlink("\(state.rulesDirectory)/\(file)")
        }
        for (file, rules) in whole where !unchanged.contains(file) {
            try? rules.write(toFile: "\(state.rulesDirectory)/\(file)", atomically: true, encoding: .utf8)
        }
    }
}
