import Glibc
import LabKernel

/// One TCP client of the DNS server: messages with a 2-byte length prefix, several per
/// connection (RFC 7766), answered in order.
///
/// Memory is fixed per connection: the input buffer holds one largest query; replies are only
/// produced while less than `outputHighWater` waits to be sent, so a client that sends without
/// reading stops being read instead of growing a buffer.
final class DNSTCPConnection {
    enum Disposition { case keep, close }

    let fd: Int32
    let peer: String
    private(set) var deadline: ContinuousClock.Instant
    private let limits: DNSServerLimits
    private let input: UnsafeMutableRawBufferPointer
    private var inputCount = 0
    private var output: [UInt8] = []
    private var written = 0
    private var peerClosed = false

    static let outputHighWater = 16 * 1024

    init(fd: Int32, peer: String, limits: DNSServerLimits, now: ContinuousClock.Instant) {
        self.fd = fd
        self.peer = peer
        self.limits = limits
        input = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 + max(limits.maxTCPQueryBytes, 12), alignment: 8)
        deadline = now + limits.tcpIdleTimeout
    }

    deinit { input.deallocate() }

    func close() { Glibc.close(fd) }

    private var pending: Int { output.count - written }

    var wantedEvents: UInt32 {
        (pending > 0 ? EventPoll.writable : 0) | (pending < Self.outputHighWater && !peerClosed ? EventPoll.readable : 0)
    }

    func handle(events: UInt32, server: DNSServer, now: ContinuousClock.Instant, clock: ContinuousClock) -> Disposition {
        if events & EventPoll.error != 0 { return .close }
        if pending > 0, flush() == .close { return .close }
        if events & (EventPoll.readable | EventPoll.hangUp) != 0, !peerClosed, pending < Self.outputHighWater {
            let count = recv(fd, input.baseAddress! + inputCount, input.count - inputCount, 0)
            if count == 0 {
                peerClosed = true
            } else if count < 0 {
                if errno != EAGAIN && errno != EINTR { return .close }
            } else {
                inputCount += count
            }
        }
        guard answerBuffered(server: server, now: now, clock: clock) == .keep else { return .close }
        if pending > 0, flush() == .close { return .close }
        // A client that has said all it will say is done once its answers are out.
        return peerClosed && pending == 0 ? .close : .keep
    }

    /// Answers every complete message in the input while output is below the high-water mark.
    private func answerBuffered(server: DNSServer, now: ContinuousClock.Instant, clock: ContinuousClock) -> Disposition {
        while pending < Self.outputHighWater, inputCount >= 2 {
            let length = Int(input[0]) << 8 | Int(input[1])
            // Zero or beyond the buffer: not a query this server takes, and nothing after it
            // can be framed again.
            guard length > 0, length <= input.count - 2 else { return .close }
            guard inputCount >= 2 + length else { break }
            let started = clock.now
            let exchange = server.zone.respond(to: Array(UnsafeRawBufferPointer(rebasing: input[2..<2 + length])), transport: .tcp)
            let rest = inputCount - 2 - length
            if rest > 0 { input.baseAddress!.copyMemory(from: input.baseAddress! + 2 + length, byteCount: rest) }
            inputCount = rest
            if let reply = exchange.reply {
                if written > 0 {
                    output.removeFirst(written)
                    written = 0
                }
                output.append(UInt8(reply.count >> 8))
                output.append(UInt8(reply.count & 0xff))
                output += reply
            }
            deadline = now + limits.tcpIdleTimeout
            server.log(DNSQueryLog.line(client: peer, transport: .tcp, exchange: exchange, duration: clock.now - started))
        }
        return .keep
    }

    /// Writes what the socket takes. `MSG_NOSIGNAL`: a client that went away is an EPIPE for this
    /// connection, not a SIGPIPE for the whole process.
    private func flush() -> Disposition {
        while pending > 0 {
            let count = output.withUnsafeBytes { bytes in
                send(fd, bytes.baseAddress! + written, pending, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if count < 0 {
                if errno == EINTR { continue }
                return errno == EAGAIN ? .keep : .close
            }
            written += count
        }
        output.removeAll(keepingCapacity: output.capacity <= 64 * 1024)
        written = 0
        return .keep
    }
}
