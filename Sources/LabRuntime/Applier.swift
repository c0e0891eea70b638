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
    private var progressTotals: [String: Int] = [:]
    private var progressDone: [String: Int] = [:]
    /// Set for a reconcile plan (`Plan.incremental`): an address, route or FDB entry that is
    /// already there counts as done, since a reconcile sets a changed namespace's settings again.
    public var toleratesExisting = false

    /// Where loaded firewall rules are kept (the lab's state directory).
    private let rulesDirectory: String

    public init(journal: Journal, rulesDirectory: String) {
        self.journal = journal
        self.rulesDirectory = rulesDirectory
    }

    /// Applies `plan`. A plan that builds a lab goes the fast way (`applyBatched`); a reconcile,
    /// which tolerates what exists request by request and is small, goes one request at a time,
    /// as does every plan under `LAB_APPLY_UNBATCHED=1` (for comparison).
    public func apply(_ plan: Plan) throws {
        progressTotals = [:]
        progressDone = [:]
        for operation in plan.operations {
            progressTotals[progressPhase(of: operation).name, default: 0] += 1
        }
        if ApplyTuning.batching && !plan.incremental && !toleratesExisting {
            try applyBatched(plan)
        } else {
            try applyOneByOne(plan)
        }
    }

    /// One kernel request per send, in plan order, on this thread.
    private func applyOneByOne(_ plan: Plan) throws {
        var index = 0
        let operations = plan.operations
        let faultIndex = FaultInjection.index
        while index < operations.count {
            try Interruption.check()
            let operation = operations[index]
            if index == faultIndex, let namespace = operations.first?.namespace {
                try FaultInjection.fail(in: socket(namespace))
            }
            let started = DispatchTime.now()
            // Consecutive sysctls of one namespace go in one thread hop.
            if case .setSysctl(let namespace, _, _) = operation {
                var settings: [(key: String, value: String)] = []
                while index < operations.count, case .setSysctl(namespace, let key, let value) = operations[index] {
                    // The fault may be asked for in the middle of the run.
                    if index == faultIndex, index > 0, !settings.isEmpty { break }
                    settings.append((key, value))
                    index += 1
                }
                try namespaceHandle(namespace).writeSysctls(settings)
                timings.add("sysctls", since: started, count: settings.count)
                noteProgress(operation, count: settings.count)
                continue
            }
            try perform(operation)
            timings.add(phase(of: operation), since: started, count: 1)
            noteProgress(operation, count: 1)
            index += 1
        }
    }

    /// The same operations with the same result, at a fraction of the system calls and on both
    /// cores:
    /// 1. A run of namespace creations is journaled in one fsync, then created by two threads,
    ///    each also opening the namespace's netlink socket. A run of sysctls likewise.
    /// 2. Consecutive netlink changes to one namespace are queued on its `RouteBatch` and sent
    ///    many to a datagram. The queue is sent whenever the next operation is in another
    ///    namespace or is not a netlink change, so anything a later operation relies on (a veth
    ///    peer another namespace addresses) exists by then.
    /// 3. The nodes' firewall loads (processes, independent of links) start on a background
    ///    thread when the netlink work starts — by then their namespaces exist, and the netlink
    ///    work leaves the other core idle — and each is waited for at its place in the plan, so
    ///    its failure is reported there.
    /// The first failure in plan order is thrown; the journal and `created` hold every
    /// namespace before it is created. Nothing at or after `LAB_INJECT_FAULT`'s index runs
    /// before the fault is injected, and no background work outlives the call.
    private func applyBatched(_ plan: Plan) throws {
        let operations = plan.operations
        let faultIndex = FaultInjection.index
        let limit = faultIndex.flatMap { $0 >= 0 && $0 < operations.count ? $0 : nil } ?? operations.count
        var batches: [String: RouteBatch] = [:]
        var pending: PendingBatch?
        var firewall: BackgroundWork<[Int: FirewallOutcome]>?
        var firewallStarted = false
        defer { _ = firewall?.wait() }

        var index = 0
        while index < operations.count {
            try Interruption.check()
            let operation = operations[index]
            if index == faultIndex, let namespace = operations.first?.namespace {
                try flush(&pending)
                _ = firewall?.wait()
                try FaultInjection.fail(in: socket(namespace))
            }
            if isBatchable(operation) {
                // Netlink work is one thread's: the other core is free for the firewall loads.
                if !firewallStarted {
                    firewall = startFirewallLoads(operations[..<limit])
                    firewallStarted = true
                }
                if let current = pending, current.namespace != operation.namespace { try flush(&pending) }
                if pending == nil {
                    let batch = try batches[operation.namespace] ?? RouteBatch(socket: socket(operation.namespace))
                    batches[operation.namespace] = batch
                    pending = PendingBatch(namespace: operation.namespace, batch: batch)
                }
                try enqueue(operation, on: pending!.batch)
                pending!.phases.append(phase(of: operation))
                noteProgress(operation, count: 1)
                index += 1
                continue
            }
            try flush(&pending)
            let started = DispatchTime.now()
            switch operation {
            case .createNamespace:
                let names = operations[index..<limit].prefix { if case .createNamespace = $0 { true } else { false } }
                    .map(\.namespace)
                let run = names.isEmpty ? [operation.namespace] : names
                index += run.count
                // The sysctls right after, of namespaces of this run, are written by the
                // thread that creates each namespace while it is still inside.
                let creating = Set(run)
                var settings: [String: [(key: String, value: String)]] = [:]
                var settingCount = 0
                while index < limit, case .setSysctl(let namespace, let key, let value) = operations[index], creating.contains(namespace) {
                    settings[namespace, default: []].append((key, value))
                    settingCount += 1
                    index += 1
                }
                noteProgress(operation, count: 0)
                let sysctlSeconds = try createNamespaces(run, sysctls: settings)
                let now = DispatchTime.now().uptimeNanoseconds
                let sysctlNanoseconds = UInt64(sysctlSeconds * 1e9)
                timings.add("namespaces", since: DispatchTime(uptimeNanoseconds: started.uptimeNanoseconds + sysctlNanoseconds),
                            count: run.count)
                if settingCount > 0 {
                    timings.add("sysctls", since: DispatchTime(uptimeNanoseconds: now - sysctlNanoseconds), count: settingCount)
                    progressDone["sysctls", default: 0] += settingCount
                }
            case .setSysctl:
                var settings: [(index: Int, namespace: String, key: String, value: String)] = []
                while index < limit, case .setSysctl(let namespace, let key, let value) = operations[index] {
                    settings.append((index, namespace, key, value))
                    index += 1
                }
                if settings.isEmpty, case .setSysctl(let namespace, let key, let value) = operation {
                    settings = [(index, namespace, key, value)]
                    index += 1
                }
                noteProgress(operation, count: 0)
                try writeSysctls(settings)
                timings.add("sysctls", since: started, count: settings.count)
                noteProgress(operation, count: settings.count)
            case .loadFirewall:
                noteProgress(operation, count: 0)
                if let outcome = try firewall?.wait().get()[index] {
                    let seconds = try outcome.get()
                    timings.add(phase(of: operation), since: DispatchTime(uptimeNanoseconds: started.uptimeNanoseconds - UInt64(seconds * 1e9)),
                                count: 1)
                } else {
                    try perform(operation)
                    timings.add(phase(of: operation), since: started, count: 1)
                }
                noteProgress(operation, count: 1)
                index += 1
            default:
                try perform(operation)
                timings.add(phase(of: operation), since: started, count: 1)
                noteProgress(operation, count: 1)
                index += 1
            }
        }
        try flush(&pending)
    }

    /// The queue of one namespace's changes not yet sent, and what to charge its time to.
    private struct PendingBatch {
        let namespace: String
        let batch: RouteBatch
        var phases: [String] = []
        let started = DispatchTime.now()
    }

    /// What a background firewall load took, or why it failed.
    private typealias FirewallOutcome = Result<Double, any Error>

    /// Sends the queue. Its time is shared among the queued operations' phases by their usual
    /// cost — creating a link costs about six times a link setting, an address or a route —
    /// since the kernel handles a datagram as a whole.
    private func flush(_ pending: inout PendingBatch?) throws {
        guard let current = pending else { return }
        pending = nil
        defer {
            let now = DispatchTime.now().uptimeNanoseconds
            let elapsed = Double(now - current.started.uptimeNanoseconds)
            let weights = current.phases.map { $0 == "links" ? 6.0 : 1.0 }
            let total = weights.reduce(0, +)
            var shares: [String: (nanoseconds: Double, count: Int)] = [:]
            var order: [String] = []
            for (phase, weight) in zip(current.phases, weights) {
                if shares[phase] == nil { order.append(phase) }
                shares[phase, default: (0, 0)].nanoseconds += elapsed * weight / total
                shares[phase, default: (0, 0)].count += 1
            }
            for phase in order {
                let share = shares[phase]!
                timings.add(phase, since: DispatchTime(uptimeNanoseconds: now - UInt64(share.nanoseconds)), count: share.count)
            }
        }
        try current.batch.flush()
    }

    /// The operations `RouteBatch` can queue: netlink changes inside one namespace. Anything
    /// else (namespaces, sysctls, processes, removals) is done on its own, after a flush.
    private func isBatchable(_ operation: KernelOperation) -> Bool {
        switch operation {
        case .addBridge, .addVeth, .setMaster, .setHairpin, .addAddress, .setUp, .addRoute, .addVxlan, .addNeighbor,
             .addForwardingEntry:
            return true
        default:
            return false
        }
    }

    /// Queues `operation`, exactly as `perform` would send it alone.
    private func enqueue(_ operation: KernelOperation, on batch: RouteBatch) throws {
        switch operation {
        case .addBridge(_, let name, let mac, let mtu):
            try batch.addBridge(name: name, mtu: mtu, mac: mac)
        case .addVeth(let pair):
            try batch.addVeth(name: pair.name, mac: pair.mac, mtu: pair.mtu, peerName: pair.peerName,
                              peerMAC: pair.peerMAC, peerNamespace: namespaceHandle(pair.peerNamespace))
        case .setMaster(_, let link, let master):
            try batch.setMaster(link: link, master: master)
        case .setHairpin(_, let link):
            try batch.setHairpin(link: link, on: true)
        case .addAddress(_, let link, let address, let prefixLength):
            try batch.addAddress(link: link, address: address, prefixLength: prefixLength)
        case .setUp(_, let link):
            try batch.setUp(link: link)
        case .addRoute(_, let destination, let gateway, let device, let onlink):
            try batch.addRoute(destination: destination, gateway: gateway, device: device, onlink: onlink)
        case .addVxlan(_, let name, let vni, let port, let local, let device, let mac, let mtu):
            try batch.addVxlan(name: name, vni: vni, port: port, local: local, device: device, learning: false, mtu: mtu, mac: mac)
        case .addNeighbor(_, let link, let address, let mac):
            try batch.addNeighbor(link: link, address: address, mac: mac, permanent: true)
        case .addForwardingEntry(_, let link, let mac, let destination):
            try batch.addFDB(link: link, mac: mac, destination: destination)
        default:
            preconditionFailure("not a batchable operation: \(operation)")
        }
    }

    /// Journals `names` (one fsync), then creates them on `ApplyTuning.workers` threads, each
    /// thread also opening the namespace's socket and writing its `sysctls` before it leaves the
    /// namespace. Throws the first failure in plan order: creations (and sockets) first, then
    /// sysctls in the order of their namespaces. Returns the seconds spent on sysctls, per thread.
    private func createNamespaces(_ names: [String], sysctls: [String: [(key: String, value: String)]]) throws -> Double {
        try journal.record(namespaces: names)
        created += names
        let progress = UpDownProgress.shared
        let work = names.map { (name: $0, settings: (sysctls[$0] ?? []).map { SysctlPair(key: $0.key, value: $0.value) }) }
        let results = ParallelWork.map(work, workers: ApplyTuning.workers) { item in
            defer { progress.advance() }
            return try NetworkNamespace.create(item.name) { namespace -> (RouteSocket, sysctlFailure: (any Error)?, seconds: Double) in
                let socket = try RouteSocket(fromThreadInside: namespace)
                let started = DispatchTime.now()
                // Kept apart from a creation failure: it comes later in the plan.
                let failure = Result { try namespace.writeSysctlsFromThreadInside(item.settings.map { ($0.key, $0.value) }) }
                    .failure
                return (socket, failure, Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9)
            }
        }
        progressDone["namespaces", default: 0] += names.count
        var sysctlSeconds = 0.0
        for (name, result) in zip(names, results) {
            guard case .success(let (namespace, (socket, _, seconds))) = result else { continue }
            namespaces[name] = namespace
            sockets[name] = socket
            sysctlSeconds += seconds
        }
        for result in results { _ = try result.get() }
        for result in results {
            if case .success(let (_, (_, failure?, _))) = result { throw failure }
        }
        return sysctlSeconds / Double(max(1, min(ApplyTuning.workers, names.count)))
    }

    /// Writes a run of sysctls: each namespace's in one thread hop and in plan order, the
    /// namespaces on `ApplyTuning.workers` threads. The failure thrown is that of the namespace
    /// whose first setting comes first in the plan.
    private func writeSysctls(_ settings: [(index: Int, namespace: String, key: String, value: String)]) throws {
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
    /// plan order on one background thread (the other core), stopping at the first failure.
    /// nil when there are none.
    private func startFirewallLoads(_ operations: ArraySlice<KernelOperation>) -> BackgroundWork<[Int: FirewallOutcome]>? {
        var loads: [(index: Int, loader: FirewallLoader, rules: String, namespace: NetworkNamespace)] = []
        for (index, operation) in zip(operations.indices, operations) {
            if case .loadFirewall(let namespace, let loader, let rules) = operation, let handle = namespaces[namespace] {
                loads.append((index, loader, rules, handle))
            }
        }
        guard !loads.isEmpty else { return nil }
        let directory = rulesDirectory
        let allLoads = loads
        return BackgroundWork {
            var outcomes: [Int: FirewallOutcome] = [:]
            for load in allLoads {
                let started = DispatchTime.now()
                let outcome = FirewallOutcome {
                    try FirewallLoad.run(load.loader, rules: load.rules, in: load.namespace, directory: directory)
                    return Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
                }
                outcomes[load.index] = outcome
                if case .failure = outcome { break }
            }
            return outcomes
        }
    }

    func perform(_ operation: KernelOperation) throws {
        switch operation {
        case .createNamespace(let name):
            try journal.record(namespace: name)
            created.append(name)
            namespaces[name] = try NetworkNamespace.create(name)
        case .setSysctl(let namespace, let key, let value):
            try namespaceHandle(namespace).writeSysctls([(key, value)])
        case .addBridge(let namespace, let name, let mac, let mtu):
            try socket(namespace).addBridge(name: name, mtu: mtu, mac: mac)
        case .addVeth(let pair):
            try socket(pair.namespace).addVeth(name: pair.name, mac: pair.mac, mtu: pair.mtu, peerName: pair.peerName,
                                               peerMAC: pair.peerMAC, peerNamespace: namespaceHandle(pair.peerNamespace))
        case .setMaster(let namespace, let link, let master):
            try socket(namespace).setMaster(link: link, master: master)
        case .setHairpin(let namespace, let link):
            try socket(namespace).setHairpin(link: link, on: true)
        case .addAddress(let namespace, let link, let address, let prefixLength):
            try unlessExisting { try socket(namespace).addAddress(link: link, address: address, prefixLength: prefixLength) }
        case .setUp(let namespace, let link):
            try socket(namespace).setUp(link: link)
        case .addRoute(let namespace, let destination, let gateway, let device, let onlink):
            try unlessExisting { try socket(namespace).addRoute(destination: destination, gateway: gateway, device: device, onlink: onlink) }
        case .addVxlan(let namespace, let name, let vni, let port, let local, let device, let mac, let mtu):
            try socket(namespace).addVxlan(name: name, vni: vni, port: port, local: local, device: device, learning: false,
                                           mtu: mtu, mac: mac)
        case .addNeighbor(let namespace, let link, let address, let mac):
            try socket(namespace).addNeighbor(link: link, address: address, mac: mac, permanent: true)
        case .addForwardingEntry(let namespace, let link, let mac, let destination):
            try unlessExisting { try socket(namespace).addFDB(link: link, mac: mac, destination: destination) }
        case .loadFirewall(let namespace, let loader, let rules):
            try FirewallLoad.run(loader, rules: rules, in: namespaceHandle(namespace), directory: rulesDirectory)
        case .deleteNamespace(let name):
            // Our own descriptors, and any process still inside (a `lab exec` shell), would
            // keep it alive after the unmount, with its veths and addresses.
            sockets[name] = nil
            namespaces[name] = nil
            SupervisorProcess.endProcesses(in: [name], grace: 1)
            try Teardown.remove(namespaces: [name])
        case .deleteLink(let namespace, let name):
            try socket(namespace).deleteLink(name)
        case .clearMaster(let namespace, let link):
            try socket(namespace).clearMaster(link: link)
        case .deleteAddress(let namespace, let link, let address, let prefixLength):
            try socket(namespace).deleteAddress(link: link, address: address, prefixLength: prefixLength)
        case .deleteRoute(let namespace, let destination, let gateway, let device):
            try socket(namespace).deleteRoute(destination: destination, gateway: gateway, device: device)
        case .deleteNeighbor(let namespace, let link, let address):
            try socket(namespace).deleteNeighbor(link: link, address: address)
        case .deleteForwardingEntry(let namespace, let link, let mac, let destination):
            try socket(namespace).deleteFDB(link: link, mac: mac, destination: destination)
        case .forgetNeighbor(let namespace, let link, let address):
            do {
                try socket(namespace).deleteNeighbor(link: link, address: address)
            } catch let error as KernelError where error.errno == ENOENT {
                // Nothing cached: nothing to forget.
            }
        case .flushConntrack(let namespace, let filter):
            try ConntrackFlush.run(filter, in: namespaceHandle(namespace), directory: rulesDirectory)
        }
    }

    /// What the progress line calls the operation's part of the work, and what it counts:
    /// coarser than `phase(of:)`, since a pod's links, addresses and routes alternate.
    private func progressPhase(of operation: KernelOperation) -> (name: String, unit: String) {
        switch operation {
        case .createNamespace: return ("namespaces", "")
        case .setSysctl: return ("sysctls", "settings")
        case .loadFirewall: return ("service rules", "nodes")
        case .deleteNamespace: return ("removals", "changes")
        case .flushConntrack: return ("conntrack", "flushes")
        default: return ("links", "changes")
        }
    }

    /// Counts `count` operations of `operation`'s progress phase as done (0: only enters it).
    private func noteProgress(_ operation: KernelOperation, count: Int) {
        let phase = progressPhase(of: operation)
        let progress = UpDownProgress.shared
        progress.enter(phase.name, total: progressTotals[phase.name] ?? 0, unit: phase.unit)
        guard count > 0 else { return }
        progressDone[phase.name, default: 0] += count
        progress.setDone(progressDone[phase.name]!, of: phase.name)
    }

    private func phase(of operation: KernelOperation) -> String {
        switch operation {
        case .createNamespace: return "namespaces"
        case .setSysctl: return "sysctls"
        case .addBridge, .addVeth, .addVxlan: return "links"
        case .addNeighbor: return "neighbours"
        case .addForwardingEntry: return "overlay entries"
        case .loadFirewall: return "service rules"
        case .deleteNamespace: return "removed namespaces"
        case .deleteLink, .clearMaster, .deleteAddress, .deleteRoute, .deleteNeighbor, .deleteForwardingEntry, .forgetNeighbor:
            return "removals"
        case .flushConntrack: return "conntrack"
        case .setMaster, .setHairpin, .setUp: return "link settings"
        case .addAddress: return "addresses"
        case .addRoute: return "routes"
        }
    }

    /// Runs `body`, taking EEXIST as success when `toleratesExisting` is set.
    private func unlessExisting(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as KernelError where toleratesExisting && error.errno == EEXIST {
            return
        }
    }

    private func namespaceHandle(_ name: String) throws -> NetworkNamespace {
        if let handle = namespaces[name] { return handle }
        let handle = try NetworkNamespace.open(name)
        namespaces[name] = handle
        return handle
    }

    private func socket(_ namespace: String) throws -> RouteSocket {
        if let socket = sockets[namespace] { return socket }
        let socket = try RouteSocket(in: namespaceHandle(namespace))
        sockets[namespace] = socket
        return socket
    }

    /// Closes every socket and namespace fd (a socket holds its namespace alive).
    public func close() {
        sockets.removeAll()
        namespaces.removeAll()
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

/// Where the time of an apply went, by phase, for `lab up`'s summary and `--timings`.
public struct PhaseTimings: Sendable {
    public private(set) var phases: [(name: String, seconds: Double, count: Int)] = []

    public init() {}

    public mutating func add(_ name: String, since start: DispatchTime, count: Int) {
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        if let index = phases.firstIndex(where: { $0.name == name }) {
            phases[index].seconds += seconds
            phases[index].count += count
        } else {
            phases.append((name, seconds, count))
        }
    }
}
