import Glibc
import Logging

/// The one event loop behind every agent port of a lab: a `poll(2)` over the wake-up socket,
/// every listening socket and every open connection, on a single thread. Which pod a socket
/// serves is only a field of its entry; which namespace it lives in does not matter once it
/// is open.
final class AgentLoop {
    struct Port {
        var fd: Int32
        var pod: String
        var `protocol`: AgentProtocol
    }

    private let ports: [Port]
    private let limits: AgentLimits
    private let logger: Logger
    private let clock = ContinuousClock()
    private var pollSet = PollSet()
    /// Listeners taken out of the poll set after running out of descriptors or memory, so a
    /// listener that stays readable does not spin the loop; the next sweep puts them back.
    private var pausedListeners: [Int] = []
    /// One read buffer shared by every socket: a datagram or a chunk of a stream is copied out
    /// before the next socket is read. 64 KiB holds any UDP datagram.
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    /// Sockets accepted or datagrams answered per listener per turn, so one busy port cannot
    /// starve the others.
    private static let batch = 64

    init(ports: [Port], wakeFD: Int32, limits: AgentLimits, logger: Logger) {
        self.ports = ports
        self.limits = limits
        self.logger = logger
        pollSet.append(fd: wakeFD, events: Int16(POLLIN), owner: .wake)
        for (index, port) in ports.enumerated() {
            pollSet.append(fd: port.fd, events: Int16(POLLIN), owner: .listener(index))
        }
    }

    deinit { scratch.deallocate() }

    private var connectionCount: Int { pollSet.count - 1 - ports.count }

    /// Serves until the wake-up socket becomes readable, then closes every connection (the
    /// listening sockets belong to the server).
    func run() {
        defer { closeAllConnections() }
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
                    return
                case .listener(let index):
                    ports[index].protocol == .udp ? answerDatagrams(index) : acceptConnections(index, now: now)
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

    private func acceptConnections(_ index: Int, now: ContinuousClock.Instant) {
        let port = ports[index]
        for _ in 0..<Self.batch {
            switch AcceptedSocket.accept(from: port.fd) {
            case .success(let socket):
                guard connectionCount < limits.maxConnections else {
                    Glibc.close(socket.fd)
                    continue
                }
                let connection = AgentConnection(fd: socket.fd, kind: port.protocol == .http ? .http : .tcp,
                                                 pod: port.pod, peer: socket.peer.description,
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
                    pollSet.setEvents(0, slot: 1 + index)
                    pausedListeners.append(index)
                    return
                }
            }
        }
    }

    private func answerDatagrams(_ index: Int) {
        let port = ports[index]
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
        for index in pausedListeners { pollSet.setEvents(Int16(POLLIN), slot: 1 + index) }
        pausedListeners.removeAll()
    }

    private func close(_ connection: AgentConnection) {
        Glibc.close(connection.fd)
        pollSet.remove(slot: connection.slot)
        connection.slot = -1
    }

    private func closeAllConnections() {
        for owner in pollSet.owners {
            if case .connection(let connection) = owner { Glibc.close(connection.fd) }
        }
    }
}
