import Foundation
import Synchronization
import LabKernel
import LabPlan
import LabSpec

/// One observed trace: tracing rules and listeners in every namespace the packet may cross,
/// one real packet, what the kernel reported, the conntrack entries of the nodes it crossed —
/// and then everything made for the trace taken away again.
///
/// 1. `table inet lab_trace` (and `table bridge lab_trace` where frames are switched) in each
///    namespace, one `nft -f` per namespace (`TraceRuleset`).
/// 2. One `NFNLGRP_NFTRACE` listener per namespace (events are per namespace).
/// 3. The probe from the source namespace (`TraceProbe`), and its answer or a timeout.
/// 4. The events read, the rules they name listed (`nft -a list ruleset`, and `iptables-save`
///    where the rules are iptables'), the conntrack entries read over ctnetlink.
/// 5. Cleanup, whatever happened: tables removed, listeners closed, the probe socket closed,
///    then the conntrack entries of the probe deleted over ctnetlink.
public enum TraceSession {
    public struct Options: Sendable {
        /// How long to wait for the answer; a lost packet costs this much.
        public var timeout: Double
        public init(timeout: Double = 0.5) { self.timeout = timeout }
    }

    /// The host-wide lock that serialises traces (`flock`; the kernel drops it with the process).
    /// `_` cannot be in a lab's name, so this is never a lab's own lock.
    static let hostLockPath = "/run/lab/._trace.lock"

    /// One trace at a time on the host: a probe after masquerade is known by its DSCP alone,
    /// and two traces at once may share one (32 values), so each would mark and keep the
    /// other's packets. Held until every table of the trace is gone (`observe` releases it in
    /// its first defer, which runs last); a trace takes well under a second.
    static func lockHost() throws -> LabLock { try LabLock(path: hostLockPath, timeout: 30) }

    /// Nothing of the trace stays, its lock file included: removed while still held, so a
    /// waiter wakes on a file no longer at the path and starts over (`LabLock`).
    static func release(_ lock: LabLock) {
        unlink(hostLockPath)
        withExtendedLifetime(lock) {}
    }

    public static func observe(_ expected: ExpectedTrace, topology: Topology, options: Options = Options()) throws -> ObservedTrace {
        let flow = expected.flow
        guard let sourceNamespaceName = flow.source.netns else { throw TraceRuntimeError("the source has no namespace") }
        // An interrupt while the trace tables are in place would leave them behind: SIGINT,
        // SIGTERM and SIGHUP wait until the cleanup below is done (this defer runs last), then
        // take effect as usual.
        var previous = blockTerminatingSignals()
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let hostLock = try lockHost()
        defer { release(hostLock) }
        // The probe's socket first: the kernel picks its source port, so no socket of the source
        // namespace uses it, and the trace rules select on it.
        let source = try NetworkNamespace.open(sourceNamespaceName)
        let probe = try TraceProbe(flow: flow, in: source)
        defer { probe.close() }
        let port = Int(probe.port)
        let directory = LabState(lab: topology.lab).directory + "/trace-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let namespaces = try tracedNamespaces(expected, topology: topology, source: sourceNamespaceName).map { try NetworkNamespace.open($0) }
        let bridged = Set([topology.fabricNetns] + topology.nodes.map(\.netns))

        // 1. Trace rules (removed in the defer whatever happens next).
        var installed: [NetworkNamespace] = []
        defer { _ = try? removeTraceTables(&installed, port: port, bridged: bridged, directory: directory) }
        // Marked installed before the attempt: a half-applied script is removed all the same.
        installed = namespaces
        try inParallel(namespaces) { namespace in
            try runNFT(TraceRuleset.install(protocol: flow.protocol, port: port, source: "\(flow.source.ip)",
                                            bridge: bridged.contains(namespace.name),
                                            extraMatches: expected.replyMatches),
                       in: namespace, directory: directory, name: "install")
        }

        // 2. Listeners, and the names of each namespace's interfaces.
        let (opened, interfaces) = try listen(in: namespaces)
        var listeners = opened

        // 3. The packet.
        try probe.send()
        var answer = probe.answer(timeout: options.timeout)
        // Events of the last hops are queued by softirqs that may still be running.
        usleep(20_000)

        // 4. What the kernel said.
        let events = try drain(listeners, namespaces: namespaces, interfaces: interfaces, objects: objectNames(topology))
        listeners.removeAll()
        let listings = try ruleListings(for: events, namespaces: namespaces, directory: directory, proxy: topology.proxy)
        var builder = ObservedPath(flow: flow, probePort: port, expected: expected)
        builder.ruleText = { family, table, chain, handle in listings.text(family: family, table: table, chain: chain, handle: handle) }
        let preliminary = builder.build(events, forwardOrder: [], replyOrder: [])
        let conntrack = try conntrackEntries(events: events, builder: builder, namespaces: namespaces, topology: topology,
                                             expected: expected)
        let branch = TraceComparison.chooseBranch(
            expected: expected,
            observed: ObservedTrace(forward: preliminary.forward, reply: [], conntrack: conntrack.observations, answer: answer, tuple: "", notes: []))
        let path = expected.paths[branch]
        let ordered = builder.build(events, forwardOrder: visits(path.forward), replyOrder: visits(path.reply))
        answer = refined(answer, events: events, builder: builder)
        var notes: [String] = []
        if events.isEmpty {
            notes.append("no namespace reported a trace event: is nf_tables tracing (CONFIG_NF_TABLES) available?")
        }

        // 5. Cleanup of what the probe left in conntrack: the tables go in the defer above, the
        //    socket first so its reset is neither traced nor left behind.
        try removeTraceTables(&installed, port: port, bridged: bridged, directory: directory)
        probe.close()
        usleep(5_000)
        for (socket, tuple) in conntrack.filters { _ = try? socket.delete(tuple) }
        return ObservedTrace(forward: ordered.forward, reply: ordered.reply, conntrack: conntrack.observations,
                             answer: answer, tuple: tupleText(flow, port: port), notes: notes)
    }

    /// Blocks SIGINT, SIGTERM and SIGHUP on this thread; returns the mask to restore.
    static func blockTerminatingSignals() -> sigset_t {
        var blocked = sigset_t()
        var previous = sigset_t()
        sigemptyset(&blocked)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&blocked, signal) }
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        return previous
    }

    /// Every namespace of the model's paths, plus the fabric, nodes and hosts, so a packet
    /// that goes somewhere the model does not expect is still seen; the source's first.
    static func tracedNamespaces(_ expected: ExpectedTrace, topology: Topology, source: String) -> [String] {
        var names = expected.namespaces
        for name in [topology.fabricNetns] + topology.nodes.map(\.netns) + topology.hosts.map(\.netns) where !names.contains(name) {
            names.append(name)
        }
        if !names.contains(source) { names.insert(source, at: 0) }
        return names
    }

    /// One trace listener per namespace (events are per namespace), and each namespace's
    /// interface names by index, read now: the events name interfaces by index only.
    static func listen(in namespaces: [NetworkNamespace]) throws -> ([NFTraceListener], [String: [UInt32: String]]) {
        var listeners: [NFTraceListener] = []
        var interfaces: [String: [UInt32: String]] = [:]
        for namespace in namespaces {
            listeners.append(try NFTraceListener(in: namespace))
            let links = try RouteSocket(in: namespace).links()
            interfaces[namespace.name] = Dictionary(links.map { (UInt32($0.index), $0.name) }, uniquingKeysWith: { first, _ in first })
        }
        return (listeners, interfaces)
    }

    /// The events each listener queued, for the namespaces that saw the packet.
    static func drain(_ listeners: [NFTraceListener], namespaces: [NetworkNamespace], interfaces: [String: [UInt32: String]],
                      objects: [String: String]) throws -> [ObservedPath.NamespaceEvents] {
        var events: [ObservedPath.NamespaceEvents] = []
        for (namespace, listener) in zip(namespaces, listeners) {
            let drained = try listener.drain()
            guard !drained.isEmpty else { continue }
            events.append(ObservedPath.NamespaceEvents(netns: namespace.name, object: objects[namespace.name] ?? namespace.name,
                                                       events: drained, interfaces: interfaces[namespace.name] ?? [:]))
        }
        return events
    }

    /// A refused connect is an RST or an ICMP port unreachable (a REJECT): the socket's errno
    /// is the same, the traced reply says which.
    static func refined(_ answer: String, events: [ObservedPath.NamespaceEvents], builder: ObservedPath) -> String {
        let rejected = answer.hasPrefix("RST") && events.contains { namespace in
            builder.passes(of: namespace).contains { !$0.isForward && !$0.outerVXLAN && $0.first?.protocol == 1 }
        }
        return rejected ? "ICMP port unreachable (connection refused)" : answer
    }

    /// The probe's connection as one line: `tcp 10.244.0.5:40312 → 10.96.0.10:80`.
    static func tupleText(_ flow: TraceFlow, port: Int) -> String {
        "\(flow.protocol.rawValue) \(flow.source.ip)" + (flow.protocol == .icmp ? " id \(port)" : ":\(port)")
            + " → \(flow.destination)" + (flow.port.map { ":\($0)" } ?? "")
    }

    /// The namespaces in the order the model enters them; a namespace entered again later is
    /// listed again.
    static func visits(_ hops: [TraceHop]) -> [String] {
        var result: [String] = []
        for hop in hops where result.last != hop.netns { result.append(hop.netns) }
        return result
    }

    static func objectNames(_ topology: Topology) -> [String: String] {
        var names = [topology.fabricNetns: "fabric"]
        for node in topology.nodes { names[node.netns] = node.name }
        for host in topology.hosts { names[host.netns] = "host/\(host.name)" }
        for pod in topology.pods { names[pod.netns] = pod.name }
        return names
    }

    static func removeTraceTables(_ installed: inout [NetworkNamespace], port: Int, bridged: Set<String>, directory: String) throws {
        let namespaces = installed
        installed.removeAll()
        try inParallel(namespaces) { namespace in
            try runNFT(TraceRuleset.remove(port: port, bridge: bridged.contains(namespace.name)), in: namespace, directory: directory, name: "remove")
        }
    }

    /// `body` for every namespace at once: each is one `nft` process, mostly waiting on the
    /// kernel, so a lab's namespaces take about as long as one. Every namespace is attempted;
    /// the failures are thrown together.
    static func inParallel(_ namespaces: [NetworkNamespace], _ body: @escaping @Sendable (NetworkNamespace) throws -> Void) throws {
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for namespace in namespaces {
            DispatchQueue.global().async(group: group) {
                do { try body(namespace) } catch { failures.withLock { $0.append("\(error)") } }
            }
        }
        group.wait()
        let all = failures.withLock { $0 }
        if !all.isEmpty { throw TraceRuntimeError(all.joined(separator: "; ")) }
    }

    static func runNFT(_ script: String, in namespace: NetworkNamespace, directory: String, name: String) throws {
        let path = "\(directory)/\(namespace.name).\(name).nft"
        try script.write(toFile: path, atomically: false, encoding: .utf8)
        let output = "\(path).log"
        let status = try NamespacedCommand.run(["nft", "-f", path], package: "nftables", in: namespace, outputPath: output)
        guard status == 0 else {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            throw TraceRuntimeError("nft -f in \(namespace.name) failed (exit \(status)): \(text.split(separator: "\n").prefix(3).joined(separator: "; "))")
        }
    }

    static func capture(_ arguments: [String], package: String, in namespace: NetworkNamespace, directory: String, name: String) throws -> String {
        let output = "\(directory)/\(namespace.name).\(name).out"
        _ = try NamespacedCommand.run(arguments, package: package, in: namespace, outputPath: output)
        return (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    }

    /// The live rules that trace events name, per namespace.
    static func ruleListings(for events: [ObservedPath.NamespaceEvents], namespaces: [NetworkNamespace], directory: String,
                             proxy: ProxyMode) throws -> RuleIndex {
        var index = RuleIndex()
        for namespaceEvents in events where namespaceEvents.events.contains(where: { !$0.table.hasPrefix(TraceRuleset.table) }) {
            guard let namespace = namespaces.first(where: { $0.name == namespaceEvents.netns }) else { continue }
            let listing = try capture(["nft", "-a", "list", "ruleset"], package: "nftables", in: namespace, directory: directory, name: "ruleset")
            var save: [String: [String: [String]]] = [:]
            if namespaceEvents.events.contains(where: { ["filter", "nat", "mangle", "raw"].contains($0.table) && $0.family == 2 }) {
                save = TraceListings.iptablesRules(try capture(["iptables-save"], package: "iptables", in: namespace, directory: directory, name: "iptables-save"))
            }
            for rule in TraceListings.nftRules(listing) {
                var text = rule.text
                if rule.family == "ip", let lines = save[rule.table]?[rule.chain], rule.index < lines.count {
                    text = lines[rule.index]
                }
                index.rules["\(rule.family) \(rule.table) \(rule.chain) \(rule.handle)"] = text
            }
        }
        return index
    }

    struct RuleIndex {
        var rules: [String: String] = [:]
        func text(family: String, table: String, chain: String, handle: UInt64) -> String? {
            rules["\(family) \(table) \(chain) \(handle)"]
        }
    }

    /// The conntrack entries of the probe in each node it crossed, looked up over ctnetlink by
    /// the tuple it had when it entered that node, and the tuples to delete afterwards.
    static func conntrackEntries(events: [ObservedPath.NamespaceEvents], builder: ObservedPath, namespaces: [NetworkNamespace],
                                 topology: Topology, expected: ExpectedTrace)
        throws -> (observations: [ConntrackObservation], filters: [(ConntrackSocket, ConntrackTuple)]) {
        let nodeNamespaces = Set(topology.nodes.map(\.netns))
        var observations: [ConntrackObservation] = []
        var filters: [(ConntrackSocket, ConntrackTuple)] = []
        var seen: Set<String> = []
        for namespaceEvents in events where nodeNamespaces.contains(namespaceEvents.netns) {
            guard let namespace = namespaces.first(where: { $0.name == namespaceEvents.netns }) else { continue }
            var socket: ConntrackSocket?
            for pass in builder.passes(of: namespaceEvents) where pass.isForward && !pass.outerVXLAN {
                guard let header = pass.first else { continue }
                let tuple = ConntrackTuple(header)
                guard seen.insert(namespace.name + tuple.text).inserted else { continue }
                if socket == nil { socket = try ConntrackSocket(in: namespace) }
                guard let socket, let entry = try socket.get(tuple) else { continue }
                let name = [6: "tcp", 17: "udp", 1: "icmp"][Int(entry.original.protocol)] ?? "proto \(entry.original.protocol)"
                let dnat = entry.reply.source != entry.original.destination
                    ? entry.reply.text.split(separator: " ").first.map { _ in
                        let address = entry.reply.source.map(String.init).joined(separator: ".")
                        return entry.reply.sourcePort.map { "\(address):\($0)" } ?? address
                    } : nil
                observations.append(ConntrackObservation(netns: namespace.name, object: namespaceEvents.object,
                                                         original: "\(name) \(entry.original.text)", reply: entry.reply.text,
                                                         state: entry.stateText.isEmpty ? nil : entry.stateText, dnatTo: dnat))
                filters.append((socket, tuple))
            }
        }
        return (observations, filters)
    }
}

/// A trace that could not be run (a tool failed, the source has no namespace).
public struct TraceRuntimeError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
