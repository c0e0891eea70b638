import Foundation
import Glibc
@testable import LabKernel
import LabPlan
import LabAgent
@testable import LabProbe
import Testing

/// The engine under load: failures must not hold up the probes around them, and results
/// come one by one as they finish.
struct ProbeThroughputTests {
    /// An HTTP probe to the agent that passes.
    private func passing(_ index: Int, port: Int) -> ProbeTask {
        loopbackTask(.http(path: "/hostname", method: "GET"), name: "pass \(index)", port: port,
                     expect: ProbeExpectation(status: 200))
    }

    /// One connect that can never complete (the listener's queue is full, SYNs are dropped),
    /// with a 2 s timeout and one retry, ahead of 500 probes that pass: the 500 finish long
    /// before the failing probe gives up, in much less than the sum of its timeouts.
    @Test func aTimingOutProbeDoesNotStallTheOthers() throws {
        let silent = try SilentSocket(fillBacklog: true)
        try withAgents([AgentListener(pod: "web-1", protocol: .http, port: 0)]) { server in
            var failing = loopbackTask(.tcp, name: "stuck", port: silent.port, timeout: .seconds(2))
            failing.retries = 1
            let tasks = [failing] + (0..<500).map { passing($0, port: server.boundPorts[0]) }
            var order: [Int] = []
            var lastPassAt = 0.0
            let started = Date()
            let engine = ProbeEngine(options: .init(parallel: 4, retryDelay: .milliseconds(100), hostNeighbours: .none))
            engine.stream(tasks) { index, result in
                order.append(index)
                if index > 0 {
                    #expect(result.passed, "\(result.name): \(result.explanation ?? "")")
                    lastPassAt = Date().timeIntervalSince(started)
                }
            }
            let total = Date().timeIntervalSince(started)
            #expect(order.count == 501)
            #expect(order.last == 0, "the stuck probe finishes last")
            #expect(lastPassAt < 1.5, "500 passing probes took \(lastPassAt) s beside a stuck one")
            // Two tries of 2 s and the retry delay: the others add nothing to it.
            #expect(total < 4.1 + 1.5, "took \(total) s")
        }
    }

    /// With a window of one, a refused probe waiting for its retry holds no place: the other
    /// probes run during the delay, and the run takes about the delay, not the delay plus them.
    @Test func aRetryWaitingHoldsNoPlaceInTheWindow() throws {
        let closed = try closedPort()
        try withAgents([AgentListener(pod: "web-1", protocol: .http, port: 0)]) { server in
            var refused = loopbackTask(.tcp, name: "refused", port: closed)
            refused.retries = 1
            let tasks = [refused] + (0..<50).map { passing($0, port: server.boundPorts[0]) }
            var order: [Int] = []
            let started = Date()
            let engine = ProbeEngine(options: .init(parallel: 1, retryDelay: .milliseconds(800), hostNeighbours: .none))
            engine.stream(tasks) { index, _ in order.append(index) }
            let total = Date().timeIntervalSince(started)
            #expect(order.last == 0)
            #expect(order.count == 51)
            #expect(total < 1.6, "took \(total) s")
        }
    }

    /// Thousands in flight at once by default, each with its own socket.
    @Test func twoThousandProbesAtOnce() throws {
        try withAgents([AgentListener(pod: "web-1", protocol: .http, port: 0),
                        AgentListener(pod: "web-1", protocol: .udp, port: 0)]) { server in
            let tasks = (0..<2000).map { index in
                index % 2 == 0 ? passing(index, port: server.boundPorts[0])
                    : loopbackTask(.udp(payload: "\(index)"), name: "udp \(index)", port: server.boundPorts[1])
            }
            let engine = ProbeEngine(options: .init(hostNeighbours: .none))
            #expect(engine.options.parallel >= 1000)
            let results = engine.run(tasks)
            let failures = results.filter { !$0.passed }.map { "\($0.name): \($0.explanation ?? "")" }
            #expect(failures.isEmpty, "\(failures.prefix(5))")
        }
    }

    /// A stop descriptor that becomes readable ends the run: what finished was reported, the
    /// rest was not, and the engine says it stopped.
    @Test func aStopEndsTheRunEarly() throws {
        let silent = try SilentSocket(fillBacklog: true)
        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        let tasks = (0..<20).map { loopbackTask(.tcp, name: "stuck \($0)", port: silent.port, timeout: .seconds(30)) }
        let writer = ends[1]
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(300)) {
            var byte: UInt8 = 1
            _ = write(writer, &byte, 1)
        }
        var reported = 0
        var ticks = 0
        let started = Date()
        let completed = ProbeEngine(options: .init(hostNeighbours: .none))
            .stream(tasks, stop: ends[0], tickInterval: .milliseconds(50), tick: { ticks += 1 }) { _, _ in reported += 1 }
        #expect(!completed)
        #expect(reported == 0)
        #expect(ticks >= 2)
        #expect(Date().timeIntervalSince(started) < 2)
    }
}

/// The host's neighbour table blamed for failures only when it overflowed during the run.
struct NeighbourOverflowTests {
    static let sample = """
    entries  allocs   destroys hash_grows lookups  hits     res_failed rcv_probes_mcast rcv_probes_ucast periodic_gc_runs forced_gc_runs unresolved_discards table_fulls
    000003ff 00000008 00000000 00000001   00000c3e 00000000 00000000   00000000         00000000         00000030         00000000       00000000            0000000a
    000003ff 00000010 0000000b 00000000   000012fc 00000002 00000000   00000000         00000000         00000000         00000000       00000000            00000105

    """

    @Test func theCountersAreParsedFromHex() throws {
        let counters = try #require(NeighbourTableCounters.parse(Self.sample))
        #expect(counters.entries == 1023)
        #expect(counters.tableFulls == 10 + 261)
    }

    /// Counters that move once the run has begun, as a full table makes them.
    final class MovingCounters: @unchecked Sendable {
        private let lock = NSLock()
        private var reads = 0
        let moves: Bool
        init(moves: Bool) { self.moves = moves }
        func read() -> NeighbourTableCounters? {
            lock.lock()
            defer { lock.unlock() }
            reads += 1
            return NeighbourTableCounters(entries: 1024, tableFulls: moves && reads > 1 ? 7 : 3)
        }
    }

    private func run(moves: Bool) throws -> [ProbeResult] {
        let counters = MovingCounters(moves: moves)
        let watch = ProbeEngine.HostNeighbours(counters: { counters.read() }, hardLimit: 1024)
        let engine = ProbeEngine(options: .init(parallel: 4, hostNeighbours: watch))
        let silent = try SilentSocket(fillBacklog: true)
        return try withAgents([AgentListener(pod: "web-1", protocol: .http, port: 0)]) { server in
            engine.run([loopbackTask(.tcp, name: "lost", port: silent.port, timeout: .milliseconds(300)),
                        loopbackTask(.http(path: "/hostname", method: "GET"), name: "fine", port: server.boundPorts[0]),
                        loopbackTask(.tcp, name: "refused", port: try closedPort())])
        }
    }

    @Test func aFailureWhileTheTableOverflowedSaysSo() throws {
        let results = try run(moves: true)
        #expect(results[0].explanation?.hasPrefix("host neighbour table full (gc_thresh3 1024): the lab needs cluster.neighbours: static, or raise net.ipv4.neigh.default.gc_thresh3; expected an answer, got timeout after ") == true, "\(results[0].explanation ?? "")")
        #expect(results[1].passed)
        #expect(results[1].explanation == nil)
        // A refusal is an answer: no packet of it was lost to the table.
        #expect(results[2].explanation == "expected an answer, got refused (ECONNREFUSED)")
    }

    @Test func aFailureWithoutOverflowIsTheLabs() throws {
        let results = try run(moves: false)
        #expect(results[0].explanation?.hasPrefix("expected an answer, got timeout after ") == true, "\(results[0].explanation ?? "")")
    }
}

/// A scale run against agents on 127.0.0.1, only when asked for (`LAB_PROBE_SCALE=80000`):
/// prints probes per second and the resident memory before and after.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["LAB_PROBE_SCALE"] != nil, "set LAB_PROBE_SCALE to run"))
struct ProbeScaleRun {
    static func residentKilobytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    @Test func manyHTTPProbesStreamInBoundedMemory() throws {
        let count = Int(ProcessInfo.processInfo.environment["LAB_PROBE_SCALE"] ?? "") ?? 80_000
        let listeners = (0..<200).map { AgentListener(pod: "p\($0)", protocol: .http, port: 0) }
        try withAgents(listeners) { server in
            let tasks = (0..<count).map { index in
                loopbackTask(.http(path: "/clientip", method: "GET"), name: "probe \(index)",
                             port: server.boundPorts[index % 200], expect: ProbeExpectation(clientIP: "127.0.0.1"))
            }
            let before = Self.residentKilobytes()
            var peak = before
            let stream = ProbeReportStream(tasks: tasks, options: .init()) { _ in }
            let started = Date()
            ProbeEngine(options: .init(hostNeighbours: .none)).stream(tasks, tick: { peak = max(peak, Self.residentKilobytes()) }) {
                stream.record($0, $1)
            }
            let seconds = Date().timeIntervalSince(started)
            stream.finish()
            print("scale: \(count) probes in \(seconds) s = \(Int(Double(count) / seconds))/s; RSS \(before) → peak \(peak) KB; \(stream.failed) failed")
            #expect(stream.failed == 0)
        }
    }
}

/// Exec probes are processes: only `commandLimit` run at once, and all of them finish.
struct CommandLimitTests {
    @Test func moreCommandsThanTheLimitAllRun() {
        let count = ProbeLoop.commandLimit * 2 + 3
        let tasks = (0..<count).map { ProbeTask(name: "exec \($0)", from: "here", to: "", endpoint: nil, action: .exec(["true"]), retries: 0) }
        let results = ProbeEngine(options: .init(hostNeighbours: .none)).run(tasks)
        #expect(results.count == count)
        #expect(results.filter { !$0.passed }.isEmpty)
    }
}

/// Pings to one address from one namespace share the kernel's delivery: every connected raw
/// socket to that address gets a clone of each reply before its filter drops it. Only when
/// asked for (`LAB_PROBE_SCALE`): prints the cost at two windows.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["LAB_PROBE_SCALE"] != nil && rawSocketsAllowed, "set LAB_PROBE_SCALE to run"))
struct PingFanOutRun {
    @Test func pingsToOneAddress() {
        let tasks = (0..<4000).map { loopbackTask(.ping(count: 1), name: "ping \($0)") }
        for window in [64, 4096] {
            let started = Date()
            let results = ProbeEngine(options: .init(parallel: window, hostNeighbours: .none)).run(tasks)
            let seconds = Date().timeIntervalSince(started)
            print("fan-out: 4000 pings to 127.0.0.1, window \(window): \(seconds) s, \(results.filter { !$0.passed }.count) failed")
        }
    }
}
