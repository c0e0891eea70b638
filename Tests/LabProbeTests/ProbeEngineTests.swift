import Foundation
import Glibc
import LabKernel
import LabSpec
import LabPlan
import LabAgent
@testable import LabProbe
import Testing

/// The engine against real sockets on 127.0.0.1, with the built-in agent as the server.
struct ProbeEngineTests {
    static let http = ProbeAction.http(path: "/hostname", method: "GET")

    // MARK: each kind reaching a server

    @Test(.enabled(if: rawSocketsAllowed, "raw ICMP sockets need root"))
    func pingLoopback() throws {
        let expectation = ProbeExpectation(rtt: MeasurementBound.rtt("<1s"), loss: MeasurementBound.loss("0%"))
        let result = probe(loopbackTask(.ping(count: 3), expect: expectation))
        #expect(result.passed, "\(result.explanation ?? "")")
        let observation = try #require(result.tries.first)
        #expect(observation.outcome == .reached)
        #expect(observation.echoesSent == 3)
        #expect(observation.rttMilliseconds?.count == 3)
        #expect(result.observed.hasPrefix("3/3 replies, rtt "))
    }

    @Test(.enabled(if: rawSocketsAllowed, "raw ICMP sockets need root"))
    func anImpossibleRTTBoundFails() {
        let result = probe(loopbackTask(.ping(count: 2), expect: ProbeExpectation(rtt: MeasurementBound.rtt("<1us"))))
        #expect(!result.passed)
        #expect(result.explanation?.hasPrefix("expected rtt <0.001ms, measured mean ") == true)
    }

    @Test func httpGetsStatusAndBody() throws {
        try withAgents([AgentListener(pod: "web-1", protocol: .http, port: 0)]) { server in
            let port = server.boundPorts[0]
            let result = probe(loopbackTask(Self.http, port: port, expect: ProbeExpectation(status: 200, body: "web")))
            #expect(result.passed, "\(result.explanation ?? "")")
            #expect(result.tries.map(\.status) == [200])
            #expect(result.tries.map(\.body) == ["web-1"])
            #expect(result.observed == "HTTP 200 \"web-1\"")
            let missing = probe(loopbackTask(.http(path: "/nope", method: "GET"), port: port, expect: ProbeExpectation(status: 200)))
            #expect(missing.explanation == "expected HTTP 200, got 404")
        }
    }

    @Test func httpClientIPIsThePeerTheAgentSaw() throws {
        try withAgents([AgentListener(pod: "web-1", protocol: .http, port: 0)]) { server in
            let clientip = ProbeAction.http(path: "/clientip", method: "GET")
            let port = server.boundPorts[0]
            let seen = probe(loopbackTask(clientip, port: port, expect: ProbeExpectation(clientIP: "127.0.0.1")))
            #expect(seen.passed, "\(seen.explanation ?? "")")
            let nat = probe(loopbackTask(clientip, port: port, expect: ProbeExpectation(clientIP: "10.0.0.5")))
            #expect(nat.explanation == "expected client IP 10.0.0.5, the server saw 127.0.0.1")
        }
    }

    /// Load balancing needs a Service, which needs namespaces; here one server answers every
    /// try, which is enough to see the answers read and counted (the rest is pure, above).
    @Test func servedByOverRepeatedTries() throws {
        try withAgents([AgentListener(pod: "web-1", protocol: .http, port: 0)]) { server in
            let port = server.boundPorts[0]
            let one = probe(loopbackTask(Self.http, port: port, expect: ProbeExpectation(servedBy: ["web-1"]), repeatCount: 5))
            #expect(one.passed, "\(one.explanation ?? "")")
            #expect(one.tries.count == 5)
            #expect(one.observed == "HTTP 200 \"web-1\" ×5")
            let two = probe(loopbackTask(Self.http, port: port, expect: ProbeExpectation(servedBy: ["web-1", "web-2"]), repeatCount: 5))
            #expect(two.explanation == "expected servedBy web-1, web-2 over 5 tries, got web-1 ×5: web-2 never answered")
        }
    }

    @Test func tcpReadsTheGreeting() throws {
        try withAgents([AgentListener(pod: "db-0", protocol: .tcp, port: 0)]) { server in
            let result = probe(loopbackTask(.tcp, port: server.boundPorts[0], expect: ProbeExpectation(servedBy: ["db-0"])))
            #expect(result.passed, "\(result.explanation ?? "")")
            #expect(result.tries.map(\.answer) == ["db-0"])
            #expect(result.observed == "connected, greeting \"db-0\"")
        }
    }

    @Test func tcpWithoutGreetingIsConnected() throws {
        let silent = try SilentSocket()
        let result = probe(loopbackTask(.tcp, port: silent.port))
        #expect(result.passed, "\(result.explanation ?? "")")
        #expect(result.observed == "connected")
    }

    @Test func udpGetsTheAnswer() throws {
        try withAgents([AgentListener(pod: "dns-0", protocol: .udp, port: 0)]) { server in
            let expectation = ProbeExpectation(servedBy: ["dns-0"], clientIP: "127.0.0.1")
            let result = probe(loopbackTask(.udp(payload: "hi"), port: server.boundPorts[0], expect: expectation))
            #expect(result.passed, "\(result.explanation ?? "")")
            let answer = try #require(result.tries.first?.answer)
            #expect(answer.hasPrefix("dns-0 127.0.0.1:"))
        }
    }

    // MARK: blocked

    @Test(arguments: [ProbeAction.tcp, .http(path: "/", method: "GET")])
    func aClosedTCPPortIsRefused(_ action: ProbeAction) throws {
        let port = try closedPort()
        let result = probe(loopbackTask(action, port: port))
        #expect(result.tries.map(\.outcome) == [.refused])
        #expect(result.tries.map(\.errno) == ["ECONNREFUSED"])
        #expect(result.explanation == "expected an answer, got refused (ECONNREFUSED)")
        let blocked = probe(loopbackTask(action, port: port, expect: ProbeExpectation(reach: false)))
        #expect(blocked.passed)
        #expect(blocked.observed == "refused (ECONNREFUSED)")
    }

    /// The ICMP port unreachable comes back as ECONNREFUSED on a connected UDP socket.
    @Test func aClosedUDPPortIsRefused() throws {
        let port = try closedPort(udp: true)
        let result = probe(loopbackTask(.udp(payload: "hi"), port: port))
        #expect(!result.passed)
        #expect(result.tries.map(\.errno) == ["ECONNREFUSED"])
        let blocked = probe(loopbackTask(.udp(payload: "hi"), port: port, expect: ProbeExpectation(reach: false)))
        #expect(blocked.passed)
        #expect(blocked.observed == "refused (ECONNREFUSED)")
    }

    // MARK: timeouts

    /// A timeout ends the try close to when it is due: not before, and not much after.
    func expectTimeout(_ task: ProbeTask, milliseconds: Double) {
        let result = probe(task)
        #expect(result.tries.map(\.outcome) == [.timeout])
        let elapsed = result.tries.first?.elapsedMilliseconds ?? 0
        #expect(elapsed >= milliseconds && elapsed < milliseconds + 700, "took \(elapsed) ms")
        let blocked = probe({ var task = task; task.expectation = ProbeExpectation(reach: false); return task }())
        #expect(blocked.passed)
        #expect(blocked.observed == "timeout after \(ProbeFormat.duration(milliseconds: blocked.tries[0].elapsedMilliseconds))")
    }

    @Test func anHTTPServerThatNeverAnswersTimesOut() throws {
        let silent = try SilentSocket()
        expectTimeout(loopbackTask(Self.http, port: silent.port, timeout: .milliseconds(300)), milliseconds: 300)
    }

    @Test func aUDPServerThatNeverAnswersTimesOut() throws {
        let silent = try SilentSocket(udp: true)
        expectTimeout(loopbackTask(.udp(payload: "hi"), port: silent.port, timeout: .milliseconds(300)), milliseconds: 300)
    }

    @Test func aConnectThatGetsNoSYNACKTimesOut() throws {
        let full = try SilentSocket(fillBacklog: true)
        expectTimeout(loopbackTask(.tcp, port: full.port, timeout: .milliseconds(300)), milliseconds: 300)
    }

    // MARK: retries

    @Test func retriesRerunOnlyFailingProbes() throws {
        try withAgents([AgentListener(pod: "web-1", protocol: .http, port: 0)]) { server in
            let closed = try closedPort()
            let tasks = [
                loopbackTask(Self.http, name: "healthy", port: server.boundPorts[0], retries: 3),
                loopbackTask(.tcp, name: "closed", port: closed, retries: 2),
                loopbackTask(.tcp, name: "closed as expected", port: closed, expect: ProbeExpectation(reach: false), retries: 2),
            ]
            let results = testEngine().run(tasks)
            #expect(results.map(\.name) == ["healthy", "closed", "closed as expected"])
            #expect(results.map(\.attempts) == [1, 3, 1])
            #expect(results.map(\.passed) == [true, false, true])
        }
    }

    /// A port that starts listening between the first attempt and the retry: the retry passes.
    @Test func aRetryCanPass() throws {
        let late = try SilentSocket(listen: false)
        let opened = DispatchSemaphore(value: 0)
        let engine = testEngine(retryDelay: .milliseconds(300))
        let thread = Thread {
            usleep(100_000)
            late.listen()
            opened.signal()
        }
        thread.start()
        let result = probe(loopbackTask(.tcp, port: late.port, retries: 1), engine: engine)
        opened.wait()
        #expect(result.passed, "\(result.explanation ?? "")")
        #expect(result.attempts == 2)
    }

    // MARK: many at once

    @Test func fourHundredProbesInParallelAllPass() throws {
        let listeners = (0..<4).flatMap { index in
            [AgentListener(pod: "pod-\(index)", protocol: .http, port: 0),
             AgentListener(pod: "pod-\(index)", protocol: .tcp, port: 0),
             AgentListener(pod: "pod-\(index)", protocol: .udp, port: 0)]
        }
        try withAgents(listeners) { server in
            var tasks: [ProbeTask] = []
            for index in 0..<400 {
                let pod = index % 4
                let (action, port): (ProbeAction, Int) = switch index % (rawSocketsAllowed ? 4 : 3) {
                case 0: (Self.http, server.boundPorts[3 * pod])
                case 1: (.tcp, server.boundPorts[3 * pod + 1])
                case 2: (.udp(payload: "\(index)"), server.boundPorts[3 * pod + 2])
                default: (.ping(count: 1), 0)
                }
                let servedBy = port == 0 ? nil : ["pod-\(pod)"]
                tasks.append(loopbackTask(action, name: "probe \(index)", port: port, expect: ProbeExpectation(servedBy: servedBy)))
            }
            var finished = 0
            let results = ProbeEngine(options: .init(parallel: 64)).run(tasks) { _ in finished += 1 }
            #expect(finished == 400)
            #expect(results.map(\.name) == tasks.map(\.name))
            let failures = results.filter { !$0.passed }.map { "\($0.name): \($0.explanation ?? "")" }
            #expect(failures.isEmpty, "\(failures.prefix(5))")
        }
    }

    @Test func noTasksNoResults() {
        #expect(testEngine().run([]).isEmpty)
    }

    @Test func aProbeWithoutATargetCannotRun() {
        let task = ProbeTask(name: "lost", from: "a", to: "b", endpoint: nil, action: .tcp, retries: 0)
        let result = probe(task)
        #expect(result.tries.map(\.outcome) == [.error])
        #expect(result.explanation == "could not probe: the probe has no target address")
    }

    @Test func parallelismIsBounded() {
        // Other tests open descriptors meanwhile: the bound moves a little.
        let maximum = ProbeEngine.maximumParallelism
        #expect(abs(ProbeEngine(options: .init(parallel: 10_000_000)).options.parallel - maximum) < 200)
        #expect(ProbeEngine(options: .init(parallel: 0)).options.parallel == 1)
        // The window follows the descriptor limit, which the engine raised to the hard limit.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        #expect(limit.rlim_cur == min(limit.rlim_max, 1 << 20))
        #expect(maximum < Int(limit.rlim_cur))
        #expect(ProbeEngine.defaultParallelism >= 1000)
    }
}

/// The path a lab takes: each probe's socket (or command) is made by a thread that entered
/// the source namespace. Creating a namespace is a test of LabKernel; entering our own —
/// through its `/proc` file, reached from `/run/netns` — runs the same code here.
let ownNamespace = try? NetworkNamespace.open("../../proc/self/ns/net")

@Suite(.enabled(if: ownNamespace != nil, "needs /run/netns to reach /proc/self/ns/net from"))
struct NamespaceHopTests {
    @Test func everyKindRunsFromANamespace() throws {
        let listeners = [AgentListener(pod: "web-1", protocol: .http, port: 0), AgentListener(pod: "web-1", protocol: .tcp, port: 0),
                         AgentListener(pod: "web-1", protocol: .udp, port: 0)]
        try withAgents(listeners) { server in
            let ports = server.boundPorts
            var tasks = [
                loopbackTask(ProbeEngineTests.http, name: "http", port: ports[0], expect: ProbeExpectation(servedBy: ["web-1"])),
                loopbackTask(.tcp, name: "tcp", port: ports[1], expect: ProbeExpectation(servedBy: ["web-1"])),
                loopbackTask(.udp(payload: "x"), name: "udp", port: ports[2], expect: ProbeExpectation(clientIP: "127.0.0.1")),
                ProbeTask(name: "exec", from: "here", to: "", endpoint: nil, action: .exec(["true"]), retries: 0),
            ]
            if rawSocketsAllowed { tasks.append(loopbackTask(.ping(count: 2), name: "ping")) }
            tasks = (0..<25).flatMap { _ in tasks }.map { task in
                var task = task
                task.namespace = ownNamespace
                return task
            }
            let results = ProbeEngine(options: .init(parallel: 16)).run(tasks)
            let failures = results.filter { !$0.passed }.map { "\($0.name): \($0.explanation ?? "")" }
            #expect(failures.isEmpty, "\(failures.prefix(5))")
            #expect(results.count == tasks.count)
        }
    }
}
