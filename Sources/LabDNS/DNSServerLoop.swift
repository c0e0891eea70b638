import Glibc
import LabKernel

/// The DNS server's event loop: one epoll set of the wake-up socket, the UDP socket, the TCP
/// listener and the open connections, on one thread.
///
/// Fairness: each turn reads at most `datagramsPerTurn` datagrams and lets each ready
/// connection answer at most what fits its fixed input buffer, so neither UDP nor one TCP
/// client holds the loop; a source over its budget is dropped before its query is parsed.
final class DNSServerLoop {
    private let server: DNSServer
    private let poll: EventPoll
    private let limits: DNSServerLimits
    private let clock = ContinuousClock()
    /// Connections by slot; the slot plus `firstConnectionTag` is the epoll tag.
    private var connections: [DNSTCPConnection?]
    private var freeSlots: [Int]
    private var budget: SourceBudget
    /// One datagram at a time: 64 KiB holds any.
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)

    private static let wakeTag: UInt64 = 0
    private static let udpTag: UInt64 = 1
    private static let listenerTag: UInt64 = 2
    private static let firstConnectionTag: UInt64 = 3

    init(server: DNSServer) throws {
        self.server = server
        limits = server.limits
        do {
            poll = try EventPoll()
        } catch {
            throw KernelError(operation: "epoll_create1", object: "(DNS server)", errno: error.code)
        }
        connections = Array(repeating: nil, count: max(limits.maxTCPConnections, 0))
        freeSlots = Array(connections.indices.reversed())
        budget = SourceBudget(queriesPerSecond: limits.queriesPerSecondPerSource, burst: limits.burstPerSource)
        poll.add(server.wakeReader, events: EventPoll.readable, tag: Self.wakeTag)
        poll.add(server.udpFD, events: EventPoll.readable, tag: Self.udpTag)
        poll.add(server.tcpFD, events: EventPoll.readable, tag: Self.listenerTag)
    }

    deinit {
        for connection in connections.compactMap({ $0 }) { connection.close() }
        scratch.deallocate()
    }

    func run() throws {
        // Deadlines are checked in sweeps, often enough that a timeout fires at most a quarter
        // late.
        let sweepInterval = max(.milliseconds(10), min(.seconds(1), limits.tcpIdleTimeout / 4))
        let pollTimeout = Int32(sweepInterval / .milliseconds(1))
        var nextSweep = clock.now + sweepInterval
        var ready: [(tag: UInt64, events: UInt32)] = []
        while !server.isStopRequested {
            ready.removeAll(keepingCapacity: true)
            guard poll.wait(timeoutMilliseconds: pollTimeout, { ready.append(($0, $1)) }) else {
                throw KernelError(operation: "epoll_wait", object: "(DNS server)", errno: errno)
            }
            if server.isStopRequested { break }
            let now = clock.now
            for (tag, events) in ready {
                switch tag {
                case Self.wakeTag: drainWakeUps()
                case Self.udpTag: answerDatagrams()
                case Self.listenerTag: acceptConnections(now: now)
                default:
                    let slot = Int(tag - Self.firstConnectionTag)
                    // Closed earlier in this same turn.
                    guard slot < connections.count, let connection = connections[slot] else { continue }
                    switch connection.handle(events: events, server: server, now: now, clock: clock) {
                    case .keep: poll.modify(connection.fd, events: connection.wantedEvents, tag: tag)
                    case .close: close(slot: slot)
                    }
                }
            }
            if now >= nextSweep {
                sweep(now: now)
                nextSweep = now + sweepInterval
            }
        }
    }

    private func drainWakeUps() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while recv(server.wakeReader, &bytes, bytes.count, Int32(MSG_DONTWAIT)) > 0 {}
    }

    /// Whether the socket's queue is more than half full: the server is behind. Then no source
    /// is answered more than an eighth of a turn and the rest of its datagrams are dropped
    /// unparsed, which costs a read each: the loop drains faster than one client can send, so
    /// one pod's flood never fills the queue and the others' queries still get in. Below that
    /// a single busy client has the whole server.
    private func isBehind() -> Bool {
        // SO_MEMINFO: the socket's memory counters; [0] is what its receive queue holds, [1]
        // the most it may hold.
        var counters = [UInt32](repeating: 0, count: 16)
        var length = socklen_t(counters.count * MemoryLayout<UInt32>.size)
        guard getsockopt(server.udpFD, SOL_SOCKET, 55 /* SO_MEMINFO */, &counters, &length) == 0,
              length >= socklen_t(2 * MemoryLayout<UInt32>.size), counters[1] > 0 else { return false }
        return counters[0] > counters[1] / 2
    }

    private func answerDatagrams() {
        let turn = max(limits.datagramsPerTurn, 1)
        let share = max(turn / 8, 1)
        let behind = isBehind()
        var answered: [UInt32: Int] = [:]
        for _ in 0..<turn {
            var peer = sockaddr_in()
            var peerLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(server.udpFD, scratch.baseAddress, scratch.count, Int32(MSG_DONTWAIT), $0, &peerLength)
                }
            }
            if count < 0 {
                if errno == EINTR { continue }
                return
            }
            let started = clock.now
            let source = UInt32(bigEndian: peer.sin_addr.s_addr)
            if behind {
                let taken = answered[source, default: 0]
                guard taken < share else {
                    budget.recordDrop(source)
                    continue
                }
                answered[source] = taken + 1
            }
            guard budget.admit(source, now: started) else { continue }
            let exchange = server.zone.respond(to: Array(UnsafeRawBufferPointer(rebasing: scratch[..<count])), transport: .udp)
            if let reply = exchange.reply {
                // A full send buffer drops the reply, as UDP may; the loop never waits for it.
                _ = reply.withUnsafeBytes { bytes in
                    withUnsafePointer(to: &peer) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(server.udpFD, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, peerLength)
                        }
                    }
                }
            }
            server.log(DNSQueryLog.line(client: Self.text(peer), transport: .udp, exchange: exchange, duration: clock.now - started))
        }
    }

    private func acceptConnections(now: ContinuousClock.Instant) {
        // As many as the backlog holds, up to a batch: each is cheap, and a refused one is closed.
        for _ in 0..<64 {
            var peer = sockaddr_in()
            var peerLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let fd = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(server.tcpFD, $0, &peerLength) }
            }
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            // accept4 is not in Swift's Glibc module. The moment without close-on-exec is
            // harmless: a child the supervisor starts marks every inherited descriptor
            // close-on-exec before it execs (CProcess, close_range).
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            guard let slot = freeSlots.popLast() else {
                Glibc.close(fd)
                continue
            }
            let connection = DNSTCPConnection(fd: fd, peer: Self.text(peer), limits: limits, now: now)
            connections[slot] = connection
            poll.add(fd, events: connection.wantedEvents, tag: Self.firstConnectionTag + UInt64(slot))
        }
    }

    /// Closes connections past their deadline and reports sources that were over budget.
    private func sweep(now: ContinuousClock.Instant) {
        for (slot, connection) in connections.enumerated() {
            if let connection, connection.deadline <= now { close(slot: slot) }
        }
        for (source, count) in budget.takeDropped() {
            let address = [source >> 24, source >> 16 & 0xff, source >> 8 & 0xff, source & 0xff].map(String.init).joined(separator: ".")
            server.log("[WARNING] dropped \(count) queries from \(address): over \(limits.queriesPerSecondPerSource) per second")
        }
    }

    private func close(slot: Int) {
        guard let connection = connections[slot] else { return }
        poll.remove(connection.fd)
        connection.close()
        connections[slot] = nil
        freeSlots.append(slot)
    }

    static func text(_ address: sockaddr_in) -> String {
        let value = UInt32(bigEndian: address.sin_addr.s_addr)
        let ip = [value >> 24, value >> 16 & 0xff, value >> 8 & 0xff, value & 0xff].map(String.init).joined(separator: ".")
        return "\(ip):\(UInt16(bigEndian: address.sin_port))"
    }
}
