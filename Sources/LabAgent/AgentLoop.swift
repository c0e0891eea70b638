import Glibc
import Logging

/// The one event loop behind every agent port of a lab: an epoll set of the wake-up socket,
/// every listening socket and every open connection, on a single thread. Which pod a socket
/// serves is only a field of its entry; which namespace it lives in does not matter once it
/// is open.
final class AgentLoop {
    private let registry: AgentPortRegistry
    private let wakeFD: Int32
    /// The ports served now, by id: the registry's wanted set as of the last `sync`.
    private var ports: [AgentPortID: ListeningPort] = [:]
    private let limits: AgentLimits
    private let logger: Logger
    private let clock = ContinuousClock()
    private let pollSet: AgentEventSet
    /// Listeners taken out of the poll set after running out of descriptors or memory, so a
    /// listener that stays readable does not spin the loop; the next sweep puts them back.
    private var pausedListeners: [ListeningPort] = []
    /// One read buffer shared by every socket: a datagram or a chunk of a stream is copied out
    /// before the next socket is read. 64 KiB holds any UDP datagram.
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    /// Sockets accepted or datagrams answered per listener per turn, so one busy port cannot
    /// starve the others.
    private static let batch = 64

    init(registry: AgentPortRegistry, events: AgentEventSet, wakeFD: Int32, limits: AgentLimits, logger: Logger) {
        pollSet = events
        self.registry = registry
        self.wakeFD = wakeFD
        self.limits = limits
        self.logger = logger
        pollSet.append(fd: wakeFD, events: Int16(POLLIN), owner: .wake)
    }

    deinit { scratch.deallocate() }

    private var connectionCount: Int { pollSet.count - 1 - ports.count }

    /// Serves until the registry asks it to stop, then closes every connection (the listening
    /// sockets belong to the registry). Each wake-up brings the served ports up to date first.
    func run() {
        defer { closeAllConnections() }
        guard sync() else { return }
        // Deadlines are checked in sweeps, often enough that a timeout fires at most a quarter
        // late; a timer per connection would buy nothing a probe can notice.
        let sweepInterval = max(.milliseconds(10), min(.seconds(1), limits.idleTimeout / 4))
        let pollTimeout = Int32(sweepInterval.components.seconds * 1000
            + sweepInterval.components.attoseconds / 1_000_000_000_000_000)
        var nextSweep = clock.now + sweepInterval
        while true {
            if pollSet.wait(timeoutMilliseconds: pollTimeout) < 0 {
                guard errno == EINTR else {
                    logger.error("agent poll failed: \(String(cString: strerror(errno)))")
                    return
                }
                continue
            }
            let now = clock.now
            for (owner, revents) in pollSet.ready() {
                switch owner {
                case .wake:
                    drainWakeUps()
                    guard sync() else { return }
                case .listener(let port):
                    // Removed earlier in this same turn.
                    guard port.slot >= 0 else { continue }
                    port.protocol == .udp ? answerDatagrams(port) : acceptConnections(port, now: now)
                case .connection(let connection):
                    // Closed earlier in this same turn.
                    guard connection.slot >= 0 else { continue }
                    switch connection.handle(revents: revents, scratch: scratch, now: now) {
                    case .keep: updateEvents(connection)
                    case .close: close(connection)
                    }
                }
            }
            if now >= nextSweep {
                sweep(now: now)
                nextSweep = now + sweepInterval
            }
        }
    }

    /// Reads every pending wake-up byte, so the socket is quiet until the next one.
    private func drainWakeUps() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while recv(wakeFD, &bytes, bytes.count, Int32(MSG_DONTWAIT)) > 0 {}
    }

    /// Serves exactly the registry's ports: closes the connections of removed ones and takes
    /// them out of the poll set, adds new ones, then tells the registry (whose callers close
    /// removed sockets only after that). False when the loop is to stop.
    private func sync() -> Bool {
        let wanted = registry.snapshot()
        if wanted.stop { return false }
        let removed = ports.values.filter { wanted.ports[$0.id] == nil }
        if !removed.isEmpty {
            let ids = Set(removed.map(\.id))
            var orphans: [AgentConnection] = []
            for owner in pollSet.owners {
                if case .connection(let connection) = owner, ids.contains(connection.listener) { orphans.append(connection) }
            }
            orphans.forEach(close)
            for port in removed {
                pollSet.remove(slot: port.slot)
                port.slot = -1
                ports[port.id] = nil
            }
            pausedListeners.removeAll { $0.slot < 0 }
        }
        for (id, wantedPort) in wanted.ports.sorted(by: { $0.key < $1.key }) where ports[id] == nil {
            let port = ListeningPort(id: id, fd: wantedPort.fd, pod: wantedPort.pod, protocol: wantedPort.protocol)
            port.slot = pollSet.append(fd: port.fd, events: Int16(POLLIN), owner: .listener(port))
            ports[id] = port
        }
        registry.acknowledge(wanted.version)
        return true
    }

    private func acceptConnections(_ port: ListeningPort, now: ContinuousClock.Instant) {
        for _ in 0..<Self.batch {
            switch AcceptedSocket.accept(from: port.fd) {
            case .success(let socket):
                guard connectionCount < limits.maxConnections else {
                    Glibc.close(socket.fd)
                    continue
                }
                let connection = AgentConnection(fd: socket.fd, kind: port.protocol == .http ? .http : .tcp,
                                                 pod: port.pod, listener: port.id, peer: socket.peer.description,
                                                 limits: limits, now: now)
                guard connection.start(now: now) == .keep else {
                    Glibc.close(socket.fd)
                    continue
                }
                connection.slot = pollSet.append(fd: socket.fd, events: connection.events, owner: .connection(connection))
            case .failure(let error):
                switch error.code {
                case EAGAIN:
                    return
                // accept(2): errors of a connection that died in the queue, or pending network
                // errors; the listener itself is fine.
                case EINTR, ECONNABORTED, EPROTO, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH,
                     EOPNOTSUPP, ENETDOWN, ENETUNREACH, ETIMEDOUT:
                    continue
                default:
                    logger.warning("agent \(port.protocol) port of pod \(port.pod) cannot accept: \(String(cString: strerror(error.code))); pausing it briefly")
                    pollSet.setEvents(0, slot: port.slot)
                    pausedListeners.append(port)
                    return
                }
            }
        }
    }

    private func answerDatagrams(_ port: ListeningPort) {
        for _ in 0..<Self.batch {
            var peer = SocketAddress()
            let count = peer.withMutableSockaddr { address, length in
                recvfrom(port.fd, scratch.baseAddress, scratch.count, 0, address, length)
            }
            if count < 0 {
                if errno == EINTR { continue }
                return
            }
            let reply = AgentResponses.udpReply(pod: port.pod, peer: peer.description)
            // A full send buffer drops the reply, as UDP may; the loop never waits for it.
            _ = peer.withSockaddr { address, length in
                reply.withUnsafeBytes { sendto(port.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT), address, length) }
            }
        }
    }

    private func updateEvents(_ connection: AgentConnection) {
        let events = connection.events
        if pollSet.events(slot: connection.slot) != events { pollSet.setEvents(events, slot: connection.slot) }
    }

    /// Closes connections past their deadline and resumes paused listeners.
    private func sweep(now: ContinuousClock.Instant) {
        var expired: [AgentConnection] = []
        for owner in pollSet.owners {
            if case .connection(let connection) = owner, connection.deadline <= now { expired.append(connection) }
        }
        expired.forEach(close)
        for port in pausedListeners where port.slot >= 0 { pollSet.setEvents(Int16(POLLIN), slot: port.slot) }
        pausedListeners.removeAll()
    }

    private func close(_ connection: AgentConnection) {
        pollSet.remove(slot: connection.slot)
        Glibc.close(connection.fd)
        connection.slot = -1
    }

    private func closeAllConnections() {
        for owner in pollSet.owners {
            if case .connection(let connection) = owner { Glibc.close(connection.fd) }
        }
    }
}
