import Foundation
import LabKernel
import LabPlan
import LabSpec

/// Executes a plan against the kernel: one netlink socket per namespace, opened once and kept
/// for the whole apply; sysctls written straight to /proc/sys from a thread inside the
/// namespace; no process spawned.
public final class Applier {
    private let journal: Journal
    private var namespaces: [String: NetworkNamespace] = [:]
    private var sockets: [String: RouteSocket] = [:]
    /// Namespaces this run created (recorded before creation), for rollback.
    public private(set) var created: [String] = []
    public private(set) var timings = PhaseTimings()
    /// Operations per progress phase in the plan, and how many are done.
    private var progressTotals: [ProgressPhase: Int] = [:]
    private var progressDone: [ProgressPhase: Int] = [:]
    /// Set for a reconcile plan (`Plan.incremental`): an address, route or FDB entry that is
    /// already there counts as done, since a reconcile sets a changed namespace's settings again.
    public var toleratesExisting = false

    /// Where loaded firewall rules are kept (the lab's state directory).
    private let rulesDirectory: String

    /// The run in progress (see `apply`).
    private var batching = false
    private var pending: PendingChanges?
    private var linkIndexes: [String: LinkIndexCache] = [:]
    private var firewall: BackgroundWork<Void>?
    private var firewallOutcomes: Handoff<[Int: FirewallOutcome]>?
    private var firewallStarted = false
    /// The outcome of `afterFirewallLoads` when the firewall thread runs it.
    private var afterLoadsOutcome: Handoff<Result<(count: Int, seconds: Double), any Error>>?

    /// Work that needs the lab's namespaces but none of its links (the pods' `resolv.conf`
    /// files), charged to the phase `name` and counted by what `body` returns. A batched apply
    /// runs it on the firewall loads' thread once they are done — the netlink work goes on for
    /// a while after them, with that core idle — and throws its failure at the end; otherwise
    /// it runs last, on this thread. Either way it is done when `apply` returns.
    public var afterFirewallLoads: (name: String, body: @Sendable () throws -> Int)?

    public init(journal: Journal, rulesDirectory: String) {
        self.journal = journal
        self.rulesDirectory = rulesDirectory
    }

    /// Applies `plan`, in plan order; the first failure in plan order is thrown, and the
    /// journal and `created` hold every namespace before it is created.
    ///
    /// A plan that builds a lab goes the fast way, with the same result at a fraction of the
    /// system calls and on both cores:
    /// 1. A run of namespace creations is journaled in one fsync, then created by two threads,
    ///    each also opening the namespace's netlink socket and writing the sysctls that follow
    ///    for it. A run of sysctls likewise.
    /// 2. Consecutive netlink changes to one namespace are held and submitted together, many to
    ///    a datagram. They are sent whenever the next operation is in another namespace or is
    ///    not a netlink change, so anything a later operation relies on (a veth peer another
    ///    namespace addresses) exists by then.
    /// 3. The nodes' firewall loads (processes, independent of links) start on a background
    ///    thread when the netlink work starts — by then their namespaces exist, and the netlink
    ///    work leaves the other core idle — and each is waited for at its place in the plan, so
    ///    its failure is reported there.
    /// 4. A run of permanent neighbour entries, the last netlink work, when the loads are
    ///    usually done, is submitted by two threads, each taking whole namespaces.
    /// A reconcile, which tolerates what exists request by request and is small, goes one
    /// request at a time on this thread, as does every plan under `LAB_APPLY_UNBATCHED=1` (for
    /// comparison). Nothing at or after `LAB_INJECT_FAULT`'s index runs before the fault is
    /// injected, and no background work outlives the call.
    public func apply(_ plan: Plan) throws {
        let operations = plan.operations
        progressTotals = [:]
        progressDone = [:]
        for operation in operations { progressTotals[ApplyPhase(of: operation).progress, default: 0] += 1 }
        batching = ApplyTuning.batching && !plan.incremental && !toleratesExisting
        firewallStarted = false
        defer {
            _ = firewall?.wait()
            firewall = nil
            firewallOutcomes = nil
            afterLoadsOutcome = nil
            pending = nil
        }
        let faultIndex = FaultInjection.index
        let limit = faultIndex.flatMap { $0 >= 0 && $0 < operations.count ? $0 : nil } ?? operations.count
        var index = 0
        while index < operations.count {
            try Interruption.check()
            if index == faultIndex, let namespace = operations.first?.netns {
                try flush()
                _ = firewall?.wait()
                try FaultInjection.fail(in: namespace) { try submit([$0], in: namespace) }
            }
            index = try step(operations, at: index, limit: limit)
        }
        try flush()
        try finishAfterFirewallLoads()
    }

    /// Waits for `afterFirewallLoads` on the firewall thread, or runs it here when that thread
    /// did not take it, and charges its time.
    private func finishAfterFirewallLoads() throws {
        guard let work = afterFirewallLoads else { return }
        let outcome: (count: Int, seconds: Double)
        if let background = afterLoadsOutcome {
            outcome = try background.wait().get()
        } else {
            let started = DispatchTime.now()
            let count = try work.body()
            outcome = (count, Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9)
        }
        timings.add(seconds: outcome.seconds, to: work.name, count: outcome.count)
    }

    /// Applies the operation at `index`, with the run of operations after it that go together
    /// (namespaces, sysctls), and returns the index of the next one. Nothing at or after
    /// `limit` joins a run.
    private func step(_ operations: [KernelOperation], at index: Int, limit: Int) throws -> Int {
        let operation = operations[index]
        if batching, case .addNeighbor = operation, let next = try neighbourRun(operations, from: index, limit: limit) {
            return next
        }
        if let work = try netlinkChange(for: operation) {
            let (change, tolerated) = work
            if batching && tolerated == nil {
                // Netlink work is one thread's: the other core is free for the firewall loads.
                if !firewallStarted {
                    startFirewallLoads(operations[..<limit])
                    firewallStarted = true
                }
                try hold(change, of: operation)
            } else {
                try flush()
                let started = DispatchTime.now()
                try submit([change], in: operation.netns, tolerated: tolerated)
                timings.add(ApplyPhase(of: operation), since: started, count: 1)
                noteProgress(operation, count: 1)
            }
            return index + 1
        }
        try flush()
        switch operation {
        case .createNetns:
            return try createNetnsRun(operations, from: index, limit: limit)
        case .setSysctl:
            return try sysctlRun(operations, from: index, limit: limit)
        default:
            let started = DispatchTime.now()
            noteProgress(operation, count: 0)
            if case .loadFirewall = operation, let outcome = firewallOutcomes?.wait()[index] {
                timings.add(.serviceRules, nanoseconds: UInt64(try outcome.get() * 1e9), count: 1)
            } else {
                try perform(operation)
                timings.add(ApplyPhase(of: operation), since: started, count: 1)
            }
            noteProgress(operation, count: 1)
            return index + 1
        }
    }

    /// Creates the run of namespaces at `index` (one alone when not batching), with the
    /// sysctls right after it of those namespaces, written by the thread that creates each
    /// namespace while it is still inside.
    private func createNetnsRun(_ operations: [KernelOperation], from index: Int, limit: Int) throws -> Int {
        let started = DispatchTime.now()
        let names = operations[index..<limit].prefix { if case .createNetns = $0 { true } else { false } }
            .map(\.netns).prefix(batching ? Int.max : 1)
        let run = names.isEmpty ? [operations[index].netns] : Array(names)
        var next = index + run.count
        let creating = Set(run)
        var settings: [String: [(key: String, value: String)]] = [:]
        var settingCount = 0
        while batching, next < limit, case .setSysctl(let namespace, let key, let value) = operations[next], creating.contains(namespace) {
            settings[namespace, default: []].append((key, value))
            settingCount += 1
            next += 1
        }
        // Then their loopbacks up, one request each from the same thread, on both cores.
        var loopbacks = Set<String>()
        while batching, next < limit, case .setUp(let namespace, "lo") = operations[next], creating.contains(namespace),
              loopbacks.insert(namespace).inserted {
            next += 1
        }
        noteProgress(operations[index], count: 0)
        let seconds = try createNamespaces(run, sysctls: settings, loopbacks: loopbacks)
        let insideNanoseconds = UInt64((seconds.sysctls + seconds.loopbacks) * 1e9)
        timings.add(.namespaces, since: DispatchTime(uptimeNanoseconds: started.uptimeNanoseconds + insideNanoseconds),
                    count: run.count)
        if settingCount > 0 {
            timings.add(.sysctls, nanoseconds: UInt64(seconds.sysctls * 1e9), count: settingCount)
            progressDone[.sysctls, default: 0] += settingCount
        }
        if !loopbacks.isEmpty {
            timings.add(.linkSettings, nanoseconds: UInt64(seconds.loopbacks * 1e9), count: loopbacks.count)
            progressDone[.links, default: 0] += loopbacks.count
        }
        return next
    }

    /// Writes the run of sysctls at `index`: every namespace's (on two threads) when
    /// batching, else those of the first operation's namespace, in one thread hop.
    private func sysctlRun(_ operations: [KernelOperation], from index: Int, limit: Int) throws -> Int {
        let started = DispatchTime.now()
        let first = operations[index].netns
        var settings: [(namespace: String, key: String, value: String)] = []
        var next = index
        while next < limit, case .setSysctl(let namespace, let key, let value) = operations[next], batching || namespace == first {
            settings.append((namespace, key, value))
            next += 1
        }
        if settings.isEmpty, case .setSysctl(let namespace, let key, let value) = operations[index] {
            settings = [(namespace, key, value)]
            next += 1
        }
        noteProgress(operations[index], count: 0)
        try writeSysctls(settings)
        timings.add(.sysctls, since: started, count: settings.count)
        noteProgress(operations[index], count: settings.count)
        return next
    }

    /// Submits the run of permanent neighbour entries at `index` (batching only), each
    /// namespace's in its own datagrams and the namespaces on `ApplyTuning.workers` threads.
    /// They come last among the netlink work, by when the firewall loads on the other core are
    /// usually done, and unlike links an entry does not wait for the rtnl lock: two threads add
    /// the 101,312 entries of a 1,000-pod lab in a little more than half the time of one. The
    /// failure thrown is that of the namespace whose entries come first in the plan.
    /// nil when the operation at `index` is not one (it is then applied as any other).
    private func neighbourRun(_ operations: [KernelOperation], from index: Int, limit: Int) throws -> Int? {
        try flush()
        let started = DispatchTime.now()
        var order: [String] = []
        var byNamespace: [String: [RouteChange]] = [:]
        var next = index
        while next < limit, case .addNeighbor(let namespace, _, _, _) = operations[next], let (change, _) = try netlinkChange(for: operations[next]) {
            if byNamespace[namespace] == nil { order.append(namespace) }
            byNamespace[namespace, default: []].append(change)
            next += 1
        }
        guard next > index else { return nil }
        noteProgress(operations[index], count: 0)
        let work = try order.map { namespace in
            let links = linkIndexes[namespace] ?? LinkIndexCache()
            linkIndexes[namespace] = links
            return NamespaceChanges(socket: try socket(namespace), changes: byNamespace[namespace]!, links: links)
        }
        let results = ParallelWork.map(work, workers: ApplyTuning.workers) { work in
            _ = try work.socket.submit(work.changes, links: work.links)
        }
        timings.add(.neighbours, since: started, count: next - index)
        noteProgress(operations[index], count: next - index)
        for result in results { try result.get() }
        return next
    }

    /// One namespace's changes, for the one thread that submits them: `RouteChange` is plain
    /// values and request builders, and the namespace's index cache is touched by that thread
    /// alone until the run is over.
    private struct NamespaceChanges: @unchecked Sendable {
        var socket: RouteSocket
        var changes: [RouteChange]
        var links: LinkIndexCache
    }

    /// One namespace's netlink changes not yet sent, and the phases to charge their time to.
    private struct PendingChanges {
        let netns: String
        var changes: [RouteChange] = []
        var phases: [ApplyPhase] = []
        let started = DispatchTime.now()
    }

    /// What a background firewall load took, or why it failed.
    private typealias FirewallOutcome = Result<Double, any Error>

    /// Holds `change` with the changes before it to the same namespace (sending those first
    /// when they are to another).
    private func hold(_ change: RouteChange, of operation: KernelOperation) throws {
        if let current = pending, current.netns != operation.netns { try flush() }
        if pending == nil { pending = PendingChanges(netns: operation.netns) }
        pending!.changes.append(change)
        pending!.phases.append(ApplyPhase(of: operation))
        noteProgress(operation, count: 1)
    }

    /// Submits what is held. Its time is shared among the held operations' phases by their
    /// weight, since the kernel handles a datagram as a whole.
    private func flush() throws {
        guard let current = pending else { return }
        pending = nil
        defer {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - current.started.uptimeNanoseconds)
            let total = current.phases.reduce(0) { $0 + $1.weight }
            var shares: [ApplyPhase: (nanoseconds: Double, count: Int)] = [:]
            var order: [ApplyPhase] = []
            for phase in current.phases {
                if shares[phase] == nil { order.append(phase) }
                shares[phase, default: (0, 0)].nanoseconds += elapsed * phase.weight / total
                shares[phase, default: (0, 0)].count += 1
            }
            for phase in order {
                timings.add(phase, nanoseconds: UInt64(shares[phase]!.nanoseconds), count: shares[phase]!.count)
            }
        }
        let links = linkIndexes[current.netns] ?? LinkIndexCache()
        linkIndexes[current.netns] = links
        try submit(current.changes, in: current.netns, links: links)
    }

    /// Journals `names` (one fsync), then creates them on `ApplyTuning.workers` threads, each
    /// thread also opening the namespace's socket, writing its `sysctls` and bringing its `lo`
    /// up (for those in `loopbacks`) before it leaves the namespace. Throws the first failure
    /// in plan order: creations (and sockets) first, then sysctls, then loopbacks, each in the
    /// order of their namespaces. Returns the seconds spent on sysctls and loopbacks, per thread.
    ///
    /// Every new namespace starts with the same values (the kernel copies the host's IPv4
    /// settings into it, and sets IPv6's to their defaults), so the first one is created alone
    /// and reads them; a setting that already has its value is not written in any of them —
    /// writing a sysctl its own value changes nothing, and on a host whose forwarding and
    /// `rp_filter` are off that is three of a pod's four.
    private func createNamespaces(_ names: [String], sysctls: [String: [(key: String, value: String)]],
                                  loopbacks: Set<String>) throws -> (sysctls: Double, loopbacks: Double) {
        try journal.record(namespaces: names)
        created += names
        // Their files under /run/netns, made on this thread before any is mounted: all but
        // the first are hard links of it (no new inode each; see `makePlaceholders`).
        let work = try NetworkNamespace.makePlaceholders(names).map { placeholder in
            NewNamespace(placeholder: placeholder,
                         settings: (sysctls[placeholder.name] ?? []).map { SysctlPair(key: $0.key, value: $0.value) },
                         loopback: loopbacks.contains(placeholder.name))
        }
        let keys = Set(work.flatMap { $0.settings.map(\.key) }).sorted()
        let first = ParallelWork.map(Array(work.prefix(1)), workers: 1) { try $0.create(probing: keys, fresh: [:]) }
        let fresh = (try? first.first?.get())?.1.fresh ?? [:]
        let results = first + ParallelWork.map(Array(work.dropFirst()), workers: ApplyTuning.workers) {
            try $0.create(probing: [], fresh: fresh)
        }
        progressDone[.namespaces, default: 0] += names.count
        var seconds = (sysctls: 0.0, loopbacks: 0.0)
        var inside: [InsideNewNamespace] = []
        for (name, result) in zip(names, results) {
            guard case .success(let (namespace, done)) = result else { continue }
            namespaces[name] = namespace
            sockets[name] = done.socket
            seconds.sysctls += done.sysctlSeconds
            seconds.loopbacks += done.loopbackSeconds
            inside.append(done)
        }
        for result in results { _ = try result.get() }
        if let failure = inside.lazy.compactMap(\.sysctlFailure).first { throw failure }
        if let failure = inside.lazy.compactMap(\.loopbackFailure).first { throw failure }
        let threads = Double(max(1, min(ApplyTuning.workers, names.count)))
        return (seconds.sysctls / threads, seconds.loopbacks / threads)
    }

    /// What a creating thread did inside a new namespace, and how each part went.
    fileprivate struct InsideNewNamespace: Sendable {
        var socket: RouteSocket
        /// The values `probing` asked for, as the namespace started with them.
        var fresh: [String: String] = [:]
        var sysctlFailure: (any Error)?
        var loopbackFailure: (any Error)?
        var sysctlSeconds: Double
        var loopbackSeconds: Double
    }

    /// Writes a run of sysctls: each namespace's in one thread hop and in plan order, the
    /// namespaces on `ApplyTuning.workers` threads. The failure thrown is that of the namespace
    /// whose first setting comes first in the plan.
    private func writeSysctls(_ settings: [(namespace: String, key: String, value: String)]) throws {
        var order: [String] = []
        var byNamespace: [String: [(key: String, value: String)]] = [:]
        for setting in settings {
            if byNamespace[setting.namespace] == nil { order.append(setting.namespace) }
            byNamespace[setting.namespace, default: []].append((setting.key, setting.value))
        }
        let work = try order.map { (try namespaceHandle($0), byNamespace[$0]!) }
        let results = ParallelWork.map(work, workers: ApplyTuning.workers) { namespace, settings in
            try namespace.writeSysctls(settings)
        }
        for result in results { try result.get() }
    }

    /// Starts the firewall loads of `operations` whose namespace is open, one after another in
    /// plan order on one background thread (the other core), stopping at the first failure,
    /// then `afterFirewallLoads` on the same thread if they all succeeded. Their outcomes are
    /// handed over in `firewallOutcomes` and `afterLoadsOutcome`. Nothing is started when
    /// there are no loads.
    private func startFirewallLoads(_ operations: ArraySlice<KernelOperation>) {
        var loads: [(index: Int, loader: FirewallLoader, rules: String, namespace: NetworkNamespace)] = []
        for (index, operation) in zip(operations.indices, operations) {
            if case .loadFirewall(let namespace, let loader, let rules) = operation, let handle = namespaces[namespace] {
                loads.append((index, loader, rules, handle))
            }
        }
        guard !loads.isEmpty else { return }
        let directory = rulesDirectory
        let allLoads = loads
        let outcomesHandoff = Handoff<[Int: FirewallOutcome]>()
        let after = afterFirewallLoads.map { ($0.body, Handoff<Result<(count: Int, seconds: Double), any Error>>()) }
        firewallOutcomes = outcomesHandoff
        afterLoadsOutcome = after?.1
        firewall = BackgroundWork {
            var outcomes: [Int: FirewallOutcome] = [:]
            var failed = false
            for load in allLoads {
                let started = DispatchTime.now()
                let outcome = FirewallOutcome {
                    try FirewallLoad.run(load.loader, rules: load.rules, in: load.namespace, directory: directory)
                    return Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
                }
                outcomes[load.index] = outcome
                if case .failure = outcome {
                    failed = true
                    break
                }
            }
            outcomesHandoff.set(outcomes)
            guard let (body, handoff) = after else { return }
            // After a failed load the apply throws at that load; what follows would only be
            // rolled back.
            guard !failed else { return handoff.set(.failure(CancellationError())) }
            let started = DispatchTime.now()
            handoff.set(Result {
                let count = try body()
                return (count, Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9)
            })
        }
    }

    /// What is neither netlink nor a run of namespaces or sysctls: a firewall load not started
    /// in the background, a namespace removed, a conntrack flush.
    private func perform(_ operation: KernelOperation) throws {
        switch operation {
        case .loadFirewall(let namespace, let loader, let rules):
            try FirewallLoad.run(loader, rules: rules, in: namespaceHandle(namespace), directory: rulesDirectory)
        case .deleteNetns(let name):
            // Our own descriptors, and any process still inside (a `lab exec` shell), would
            // keep it alive after the unmount, with its veths and addresses.
            sockets[name] = nil
            namespaces[name] = nil
            linkIndexes[name] = nil
            SupervisorProcess.endProcesses(in: [name], grace: 1)
            try Teardown.remove(namespaces: [name])
        case .flushConntrack(let namespace, let filter):
            try ConntrackFlush.run(filter, in: namespaceHandle(namespace), directory: rulesDirectory)
        default:
            preconditionFailure("not applied by perform: \(operation)")
        }
    }

    /// Counts `count` operations of `operation`'s progress phase as done (0: only enters it).
    private func noteProgress(_ operation: KernelOperation, count: Int) {
        let phase = ApplyPhase(of: operation).progress
        let progress = UpDownProgress.shared
        progress.enter(phase.rawValue, total: progressTotals[phase] ?? 0, unit: phase.unit)
        guard count > 0 else { return }
        progressDone[phase, default: 0] += count
        progress.setDone(progressDone[phase]!, of: phase.rawValue)
    }

    func namespaceHandle(_ name: String) throws -> NetworkNamespace {
        if let handle = namespaces[name] { return handle }
        let handle = try NetworkNamespace.open(name)
        namespaces[name] = handle
        return handle
    }

    func socket(_ namespace: String) throws -> RouteSocket {
        if let socket = sockets[namespace] { return socket }
        let socket = try RouteSocket(in: namespaceHandle(namespace))
        sockets[namespace] = socket
        return socket
    }

    /// Closes every socket and namespace fd (a socket holds its namespace alive).
    public func close() {
        sockets.removeAll()
        linkIndexes.removeAll()
        namespaces.removeAll()
    }
}

/// A namespace to create, with what its creating thread does inside before it leaves.
private struct NewNamespace: Sendable {
    var placeholder: NetworkNamespace.Placeholder
    var settings: [SysctlPair]
    var loopback: Bool

    /// Creates it; reads the `probing` sysctls first, then writes the settings whose value is
    /// not already what `fresh` (or the reading) says the namespace started with.
    func create(probing: [String], fresh: [String: String]) throws -> (NetworkNamespace, Applier.InsideNewNamespace) {
        defer { UpDownProgress.shared.advance() }
        return try NetworkNamespace.create(from: placeholder) { namespace -> Applier.InsideNewNamespace in
            let socket = try RouteSocket(fromThreadInside: namespace)
            var known = fresh
            for key in probing { known[key] = try? namespace.readSysctlFromThreadInside(key) }
            let started = DispatchTime.now()
            // Kept apart from a creation failure: they come later in the plan.
            let sysctlFailure = Result {
                try namespace.writeSysctlsFromThreadInside(settings.filter { known[$0.key] != $0.value }.map { ($0.key, $0.value) })
            }.failure
            let between = DispatchTime.now()
            let loopbackFailure = loopback ? Result { try socket.submit(.setUp(link: "lo")) }.failure : nil
            let now = DispatchTime.now().uptimeNanoseconds
            return Applier.InsideNewNamespace(socket: socket, fresh: known, sysctlFailure: sysctlFailure, loopbackFailure: loopbackFailure,
                                              sysctlSeconds: Double(between.uptimeNanoseconds - started.uptimeNanoseconds) / 1e9,
                                              loopbackSeconds: Double(now - between.uptimeNanoseconds) / 1e9)
        }
    }
}

/// A sysctl as plain Sendable data, to cross into a namespace's creating thread.
private struct SysctlPair: Sendable {
    var key: String
    var value: String
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
