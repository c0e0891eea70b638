import Foundation
import LabKernel
import Logging

/// Every built-in agent of a lab, served by one process on one thread (DESIGN §4, §5): a lab
/// of 1,000 pods needs 1,000 listening sockets, not 1,000 servers.
///
/// `init` opens every socket, each in its pod's network namespace, so a port that cannot be
/// had fails before anything is served. `run` serves on the calling thread until `stop`.
///
/// ```swift
/// let server = try AgentServer(listeners: [
///     AgentListener(pod: "web-1", protocol: .http, port: 8080, namespace: web1),
///     AgentListener(pod: "web-1", protocol: .udp, port: 5353, namespace: web1),
/// ])
/// Thread { server.run() }.start()
/// …
/// server.stop()
/// ```
public final class AgentServer: @unchecked Sendable {
    // Sendable because the mutable loop state lives in `AgentLoop`, owned by the thread in
    // `run`; what other threads touch is immutable or behind `lock`.

    public let listeners: [AgentListener]
    /// The port each listener is bound to, in the order of `listeners`: the kernel's choice
    /// where the requested port was 0.
    public let boundPorts: [Int]

    private let sockets: [Int32]
    /// A socket pair whose reader is in the poll set: `stop` writes a byte to wake the loop.
    /// Both ends stay open until deinit, so `stop` never writes to a reused descriptor.
    private let wakeReader: Int32
    private let wakeWriter: Int32
    private let limits: AgentLimits
    private let logger: Logger
    private let lock = NSLock()
    private var hasRun = false
    private var socketsClosed = false

    /// Opens every listener's socket now (non-blocking, close-on-exec, `SO_REUSEADDR` for TCP).
    /// Listeners sharing a namespace are opened by one thread that entered it. Throws the
    /// `AgentError` of the first listener that fails, after closing the ones already open.
    public init(listeners: [AgentListener], limits: AgentLimits = AgentLimits(),
                logger: Logger = Logger(label: "lab.agent")) throws {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw RuntimeError.io(operation: "socketpair", path: "(agent wake-up)", errno: errno)
        }
        let opened: [(fd: Int32, port: Int)]
        do {
            opened = try Self.openSockets(listeners)
        } catch {
            close(pair[0])
            close(pair[1])
            throw error
        }
        self.listeners = listeners
        sockets = opened.map(\.fd)
        boundPorts = opened.map(\.port)
        wakeReader = pair[0]
        wakeWriter = pair[1]
        self.limits = limits
        self.logger = logger
    }

    deinit {
        closeSockets()
        close(wakeReader)
        close(wakeWriter)
    }

    /// Serves every listener on the calling thread until `stop` is called, then closes every
    /// connection and listening socket. A server runs once: calling `run` again (or after
    /// `stop`) returns at once.
    public func run() {
        let first = lock.withLock {
            defer { hasRun = true }
            return !hasRun
        }
        guard first else { return }
        defer { closeSockets() }
        let ports = zip(listeners, sockets).map { AgentLoop.Port(fd: $1, pod: $0.pod, protocol: $0.protocol) }
        AgentLoop(ports: ports, wakeFD: wakeReader, limits: limits, logger: logger).run()
    }

    /// Ends `run` promptly, from any thread. Before `run`, it makes `run` return at once.
    public func stop() {
        var byte: UInt8 = 1
        // EAGAIN means the pair is full of earlier wake-ups; one is enough.
        _ = send(wakeWriter, &byte, 1, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
    }

    private func closeSockets() {
        let mustClose = lock.withLock {
            defer { socketsClosed = true }
            return !socketsClosed
        }
        if mustClose { sockets.forEach { close($0) } }
    }

    /// Opens the listeners, one namespace at a time, and returns them in the original order.
    private static func openSockets(_ listeners: [AgentListener]) throws -> [(fd: Int32, port: Int)] {
        // Group by namespace so entering each one costs one thread, not one per port.
        var groups: [(namespace: NetworkNamespace?, indices: [Int])] = []
        var groupOf: [ObjectIdentifier?: Int] = [:]
        for (index, listener) in listeners.enumerated() {
            let key = listener.namespace.map(ObjectIdentifier.init)
            if let group = groupOf[key] {
                groups[group].indices.append(index)
            } else {
                groupOf[key] = groups.count
                groups.append((listener.namespace, [index]))
            }
        }
        var opened = [(fd: Int32, port: Int)?](repeating: nil, count: listeners.count)
        do {
            for group in groups {
                let members = group.indices.map { listeners[$0] }
                let sockets: [(fd: Int32, port: Int)]
                if let namespace = group.namespace {
                    do {
                        sockets = try namespace.perform { try openAll(members) }
                    } catch let error as KernelError {
                        throw AgentError(listener: members[0], operation: "enter namespace", errno: error.errno)
                    }
                } else {
                    sockets = try openAll(members)
                }
                for (index, socket) in zip(group.indices, sockets) { opened[index] = socket }
            }
        } catch {
            for socket in opened { if let socket { close(socket.fd) } }
            throw error
        }
        return opened.map { $0! }
    }

    /// Opens each listener in the calling thread's namespace; all or none.
    private static func openAll(_ listeners: [AgentListener]) throws -> [(fd: Int32, port: Int)] {
        var opened: [(fd: Int32, port: Int)] = []
        do {
            for listener in listeners { opened.append(try ListeningSocket.open(listener)) }
        } catch {
            opened.forEach { close($0.fd) }
            throw error
        }
        return opened
    }
}
