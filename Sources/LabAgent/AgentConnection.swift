import Glibc

/// One accepted TCP connection of an HTTP or TCP-echo agent port: its buffers, its deadline and
/// what it waits for. The event loop owns it and calls `handle` when `poll` reports it ready;
/// nothing here blocks.
///
/// Memory stays bounded: input is only read while no output is pending (HTTP) or while pending
/// output is below `echoBacklogBytes` (TCP), so a client that sends without reading stops
/// being read instead of growing a buffer.
final class AgentConnection {
    enum Kind { case http, tcp }

    enum Phase: Equatable {
        case open
        /// Write what is pending, then stop sending.
        case closingAfterFlush
        /// Sending is shut down; reading and discarding until the peer closes or the deadline.
        /// Closing at once with unread input makes the kernel send a reset, which can destroy
        /// the answer (a 431, say) before the client has read it.
        case lingering
    }

    enum Disposition { case keep, close }

    let fd: Int32
    let kind: Kind
    let pod: String
    /// The listening socket it was accepted from: removing that port closes it too.
    let listener: AgentPortID
    /// `ip:port` of the peer, computed once: `/clientip` answers it.
    let peer: String
    /// Index in the loop's poll set; the loop keeps it current.
    var slot = 0
    private(set) var phase = Phase.open
    private(set) var deadline: ContinuousClock.Instant

    private let limits: AgentLimits
    private var parser: HTTPRequestParser
    private var input: [UInt8] = []
    private var output: [UInt8] = []
    private var written = 0

    static let echoBacklogBytes = 64 * 1024
    static let lingerTime = Duration.seconds(2)

    init(fd: Int32, kind: Kind, pod: String, listener: AgentPortID, peer: String, limits: AgentLimits,
         now: ContinuousClock.Instant) {
        self.fd = fd
        self.kind = kind
        self.pod = pod
        self.listener = listener
        self.peer = peer
        self.limits = limits
        parser = HTTPRequestParser(maxHeadBytes: limits.maxRequestHeadBytes)
        deadline = now + limits.idleTimeout
        if kind == .tcp { output = AgentResponses.tcpGreeting(pod: pod) }
    }

    private var pendingOutput: Int { output.count - written }

    /// The `poll` events this connection waits for now.
    var events: Int16 {
        switch phase {
        case .lingering: return Int16(POLLIN)
        case .closingAfterFlush: return Int16(POLLOUT)
        case .open:
            let writing = pendingOutput > 0 ? Int16(POLLOUT) : 0
            let reading: Bool = switch kind {
            case .http: pendingOutput == 0
            case .tcp: pendingOutput < Self.echoBacklogBytes
            }
            return writing | (reading ? Int16(POLLIN) : 0)
        }
    }

    /// Reacts to what `poll` reported. `scratch` is the loop's shared read buffer.
    func handle(revents: Int16, scratch: UnsafeMutableRawBufferPointer, now: ContinuousClock.Instant) -> Disposition {
        if revents & Int16(POLLNVAL | POLLERR) != 0 { return .close }
        // A hang-up is seen as a failed write or an end of input, whichever comes first.
        let hangUp = revents & Int16(POLLHUP) != 0
        if revents & Int16(POLLOUT) != 0 || hangUp && pendingOutput > 0 {
            if flush(now: now) == .close { return .close }
        }
        if revents & Int16(POLLIN) != 0 || hangUp, events & Int16(POLLIN) != 0 {
            return receive(scratch: scratch, now: now)
        }
        return .keep
    }

    /// Sends the TCP greeting right after accept, without waiting for a turn of the loop.
    func start(now: ContinuousClock.Instant) -> Disposition {
        pendingOutput > 0 ? flush(now: now) : .keep
    }

    private func receive(scratch: UnsafeMutableRawBufferPointer, now: ContinuousClock.Instant) -> Disposition {
        let count = recv(fd, scratch.baseAddress, scratch.count, 0)
        if count < 0 { return errno == EAGAIN || errno == EINTR ? .keep : .close }
        if count == 0 {
            // The peer will send nothing more; a TCP echo still owes it what it sent.
            guard phase == .open, kind == .tcp, pendingOutput > 0 else { return .close }
            phase = .closingAfterFlush
            return .keep
        }
        let received = UnsafeRawBufferPointer(rebasing: scratch[..<count])
        switch (phase, kind) {
        case (.lingering, _), (.closingAfterFlush, _):
            return .keep
        case (.open, .tcp):
            // Echoing bytes as they come is line echo without a line buffer: the client sees
            // each line back as soon as it is complete.
            output.append(contentsOf: received)
            deadline = now + limits.idleTimeout
        case (.open, .http):
            input.append(contentsOf: received)
            answerCompleteRequests()
        }
        return flush(now: now)
    }

    /// Answers every complete request in the input (clients may pipeline), stopping at the
    /// first that ends the connection.
    private func answerCompleteRequests() {
        while phase == .open {
            switch parser.parse(input) {
            case .incomplete:
                return
            case .request(let request, let length):
                let persistence = AgentResponses.persistence(after: request)
                let response = AgentResponses.http(request, pod: pod, peer: peer)
                output += response.serialized(includeBody: request.method != "HEAD", persistence: persistence)
                input.removeFirst(length)
                parser.reset()
                if persistence == .close { end() }
            case .rejected(let status, let reason):
                output += AgentResponses.rejection(status, reason: reason).serialized(includeBody: true, persistence: .close)
                end()
            }
        }
    }

    private func end() {
        phase = .closingAfterFlush
        input = []
    }

    /// Writes as much pending output as the socket takes. `MSG_NOSIGNAL`: a peer that went
    /// away is an EPIPE for this connection, not a SIGPIPE for the whole supervisor.
    private func flush(now: ContinuousClock.Instant) -> Disposition {
        let hadOutput = pendingOutput > 0
        while pendingOutput > 0 {
            let count = output.withUnsafeBytes { bytes in
                send(fd, bytes.baseAddress! + written, pendingOutput, Int32(MSG_NOSIGNAL))
            }
            if count < 0 {
                if errno == EINTR { continue }
                return errno == EAGAIN ? .keep : .close
            }
            written += count
            if kind == .tcp { deadline = now + limits.idleTimeout }
        }
        output = []
        written = 0
        switch phase {
        case .open:
            // An HTTP client gets a fresh window for its next request once an answer is out;
            // partial input alone never extends it.
            if kind == .http && hadOutput { deadline = now + limits.idleTimeout }
        case .closingAfterFlush:
            shutdown(fd, Int32(SHUT_WR))
            phase = .lingering
            deadline = now + min(Self.lingerTime, limits.idleTimeout)
        case .lingering:
            break
        }
        return .keep
    }
}
