import Foundation
import Glibc
import LabAddress
import LabKernel
import LabSpec
import LabPlan
import LabAgent
@testable import LabProbe
import Testing

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

let loopback = IPv4Address(127, 0, 0, 1)

/// Live tests open raw ICMP sockets, which needs root (CI runs as root).
let rawSocketsAllowed = getuid() == 0

/// An engine with short pauses, so tests of retries do not wait for nothing.
func testEngine(parallel: Int = 8, retryDelay: Duration = .milliseconds(10)) -> ProbeEngine {
    ProbeEngine(options: .init(parallel: parallel, retryDelay: retryDelay, greetingWait: .milliseconds(200)))
}

/// A probe from here to 127.0.0.1 with no retries unless asked, so a failure shows at once.
func loopbackTask(_ action: ProbeAction, name: String = "probe", port: Int = 0, expect: ProbeExpectation = ProbeExpectation(),
                  repeatCount: Int = 1, timeout: Duration = .seconds(2), retries: Int = 0) -> ProbeTask {
    ProbeTask(name: name, from: "here", to: "127.0.0.1", endpoint: ProbeEndpoint(address: loopback, port: port),
              action: action, expectation: expect, repeatCount: repeatCount, timeout: timeout, retries: retries)
}

/// Runs one task and returns its result.
func probe(_ task: ProbeTask, engine: ProbeEngine = testEngine()) -> ProbeResult {
    engine.run([task])[0]
}

/// Agents on 127.0.0.1 served by one thread for the duration of `body`.
func withAgents<T>(_ listeners: [AgentListener], _ body: (AgentServer) throws -> T) throws -> T {
    let server = try AgentServer(listeners: listeners)
    let finished = DispatchSemaphore(value: 0)
    Thread {
        server.run()
        finished.signal()
    }.start()
    defer {
        server.stop()
        finished.wait()
    }
    return try body(server)
}

/// A socket on 127.0.0.1 that a probe can reach but that never answers: a TCP listener that
/// never accepts (the kernel completes the handshake, nobody reads), or a UDP socket that
/// never reads. With `fillBacklog`, the TCP listener's accept queue is full, so new SYNs are
/// dropped and a connect times out.
final class SilentSocket: Sendable {
    let fd: Int32
    let port: Int
    private let fillers: [Int32]

    init(udp: Bool = false, listen shouldListen: Bool = true, fillBacklog: Bool = false) throws {
        fd = socket(AF_INET, Int32((udp ? SOCK_DGRAM : SOCK_STREAM).rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
        let port = try Self.bind(fd)
        self.port = port
        if !udp, shouldListen {
            guard Glibc.listen(fd, 0) == 0 else { throw TestFailure("listen: \(String(cString: strerror(errno)))") }
        }
        // A backlog of 0 holds one connection; the next SYNs wait in vain. Two fillers make
        // sure the queue is full whatever the kernel's off-by-one.
        fillers = fillBacklog ? (0..<2).map { _ in
            let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
            Self.connect(filler, port: port)
            return filler
        } : []
        // The queue is full once a filler's handshake is done (it turns writable); wait for that,
        // for a second at most.
        if fillBacklog {
            var ready = fillers.map { pollfd(fd: $0, events: Int16(POLLOUT), revents: 0) }
            _ = poll(&ready, nfds_t(ready.count), 1000)
        }
    }

    /// Starts listening on a socket created with `listen: false`.
    func listen() { Glibc.listen(fd, 16) }

    deinit {
        close(fd)
        fillers.forEach { close($0) }
    }

    private static func bind(_ fd: Int32) throws -> Int {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = loopback.value.bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                Glibc.bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw TestFailure("bind: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @discardableResult
    private static func connect(_ fd: Int32, port: Int) -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = loopback.value.bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}

/// A port on 127.0.0.1 with nothing bound to it (for TCP or UDP): bound once by the kernel's
/// choice, then released.
func closedPort(udp: Bool = false) throws -> Int {
    let socket = try SilentSocket(udp: udp, listen: false)
    return socket.port
}

/// Observations as probes record them, for the pure tests.
enum Seen {
    static func http(_ status: Int, _ body: String, ms: Double = 1) -> ProbeObservation {
        ProbeObservation(outcome: .reached, elapsedMilliseconds: ms, status: status, body: body)
    }

    static func ping(sent: Int, rtts: [Double], ms: Double = 1) -> ProbeObservation {
        ProbeObservation(outcome: rtts.isEmpty ? .timeout : .reached, elapsedMilliseconds: ms, echoesSent: sent, rttMilliseconds: rtts)
    }

    static func tcp(_ greeting: String?, ms: Double = 1) -> ProbeObservation {
        ProbeObservation(outcome: .reached, elapsedMilliseconds: ms, answer: greeting)
    }

    static func udp(_ answer: String, ms: Double = 1) -> ProbeObservation {
        ProbeObservation(outcome: .reached, elapsedMilliseconds: ms, answer: answer)
    }

    static func exec(_ status: Int32, _ output: String = "", ms: Double = 1) -> ProbeObservation {
        ProbeObservation(outcome: status == 0 ? .reached : .exited, elapsedMilliseconds: ms, exitStatus: status, output: output)
    }

    static func blocked(_ outcome: ProbeOutcome, _ errno: String? = nil, ms: Double = 2000) -> ProbeObservation {
        ProbeObservation(outcome: outcome, errno: errno, elapsedMilliseconds: ms)
    }
}
