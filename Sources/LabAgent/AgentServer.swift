import Foundation
import LabKernel
import Logging

/// Every built-in agent of a lab, served by one process on one thread (docs/architecture.md,
/// "Containers and the supervisor"): a lab of 1,000 pods needs 1,000 listening sockets, not 1,000
/// servers.
///
/// `init` opens the first listeners, each in its pod's network namespace, so a port that cannot
/// be had fails before anything is served. `run` serves on the calling thread until `stop`.
/// `add` and `remove` change the set of ports while it runs (a supervisor reload), without
/// touching the others or their connections.
///
/// ```swift
/// let server = try AgentServer(listeners: [
///     AgentListener(pod: "web-1", protocol: .http, port: 8080, namespace: web1),
///     AgentListener(pod: "web-1", protocol: .udp, port: 5353, namespace: web1),
/// ])
/// Thread { server.run() }.start()
/// let added = server.add([[AgentListener(pod: "web-2", protocol: .http, port: 8080, namespace: web2)]])
/// server.remove(try added[0].get())
/// server.stop()
/// ```
public final class AgentServer: @unchecked Sendable {
    // Sendable because the mutable loop state lives in `AgentLoop`, owned by the thread in
    // `run`; what other threads touch is immutable or inside `registry`.

    /// The listeners given to `init`.
    public let listeners: [AgentListener]
    /// The port each of `listeners` is bound to, in their order: the kernel's choice where the
    /// requested port was 0.
    public let boundPorts: [Int]
    /// The ids of `listeners`, in their order.
    public let initialPorts: [AgentPortID]

    private let registry = AgentPortRegistry()
    /// A socket pair whose reader is in the poll set: `stop`, `add` and `remove` write a byte to
    /// wake the loop. Both ends stay open until deinit, so nobody writes to a reused descriptor.
    private let wakeReader: Int32
    private let wakeWriter: Int32
    private let limits: AgentLimits
    /// The loop's epoll set, made here so a server that cannot have one fails to start.
    private let events: AgentEventSet
    private let logger: Logger

    /// Opens every listener's socket now (non-blocking, close-on-exec, `SO_REUSEADDR` for TCP).
    /// Listeners sharing a namespace are opened by one thread that entered it. Throws the
    /// `AgentError` of the first listener that fails, after closing the ones already open.
    public init(listeners: [AgentListener], limits: AgentLimits = AgentLimits(),
                logger: Logger = Logger(label: "lab.agent")) throws {
        // Every connection in flight is a descriptor; a model check keeps thousands open.
        DescriptorLimit.raise()
        do {
            events = try AgentEventSet()
        } catch {
            throw KernelError(operation: "epoll_create1", object: "(agent event loop)", errno: error.code)
        }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw KernelError(operation: "socketpair", object: "(agent wake-up)", errno: errno)
        }
        let opened: [AgentPortRegistry.Port]
        do {
            opened = try listeners.isEmpty ? [] : AgentSocketOpener.open([listeners])[0].get()
        } catch {
            close(pair[0])
            close(pair[1])
            throw error
        }
        self.listeners = listeners
        boundPorts = opened.map(\.boundPort)
        initialPorts = registry.insert(opened).ids
        wakeReader = pair[0]
        wakeWriter = pair[1]
        self.limits = limits
        self.logger = logger
    }

    deinit {
        registry.finish().forEach { close($0.fd) }
        close(wakeReader)
        close(wakeWriter)
    }

    /// Serves every listener on the calling thread until `stop` is called, then closes every
    /// connection and listening socket. A server runs once: calling `run` again (or after
    /// `stop`) returns at once.
    public func run() {
        guard registry.begin() else {
            registry.finish().forEach { close($0.fd) }
            return
        }
        AgentLoop(registry: registry, events: events, wakeFD: wakeReader, limits: limits, logger: logger).run()
        registry.finish().forEach { close($0.fd) }
    }

    /// The descriptors the server holds before `run`: its listeners, the wake-up pair and the
    /// epoll set. Tests check by the kernel's identity of each that all are closed after the
    /// server is gone, which stays true while other code in the process opens descriptors.
    public var descriptors: [Int32] {
        registry.snapshot().ports.values.map(\.fd).sorted() + [wakeReader, wakeWriter, events.pollDescriptor]
    }

    /// Ends `run` promptly, from any thread. Before `run`, it makes `run` return at once.
    public func stop() {
        registry.requestStop()
        wake()
    }

    /// Opens more listeners and serves them from the next turn of the loop on. Each group (one
    /// container's ports) is opened all or nothing: a group with a port that cannot be had gets
    /// the `AgentError` of its first failure and leaves nothing open; other groups are served.
    /// Returns when the loop serves the new ports (at once when it is not running).
    public func add(_ groups: [[AgentListener]]) -> [Result<[AgentPortID], AgentError>] {
        let opened = AgentSocketOpener.open(groups)
        let sockets = opened.flatMap { (try? $0.get()) ?? [] }
        guard !sockets.isEmpty else { return opened.map { $0.map { _ in [] } } }
        let (ids, version) = registry.insert(sockets)
        wake()
        registry.waitUntilApplied(version)
        var next = ids.makeIterator()
        return opened.map { result in result.map { ports in ports.map { _ in next.next()! } } }
    }

    /// Stops serving these ports: their connections and sockets are closed when this returns,
    /// so nothing of ours keeps their namespaces alive. Unknown ids are ignored.
    public func remove(_ ids: [AgentPortID]) {
        guard !ids.isEmpty else { return }
        let (taken, version) = registry.take(ids)
        wake()
        registry.waitUntilApplied(version)
        taken.forEach { close($0.fd) }
    }

    /// The port a listener is bound to, while it is served.
    public func boundPort(of id: AgentPortID) -> Int? { registry.boundPort(of: id) }

    private func wake() {
        var byte: UInt8 = 1
        // EAGAIN means the pair is full of earlier wake-ups; one is enough.
        _ = send(wakeWriter, &byte, 1, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
    }
}
