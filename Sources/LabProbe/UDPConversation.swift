import Glibc

/// One UDP try: a datagram to the endpoint and the first datagram back. The socket is
/// connected, so the kernel reports an ICMP port unreachable as ECONNREFUSED on it — a closed
/// port is told apart from silence instead of waiting out the timeout.
final class UDPConversation: ProbeConversation {
    private let socket: ProbeDescriptor
    private let endpoint: ProbeEndpoint
    private let payload: [UInt8]
    private let timeout: Int64
    private var started = ProbeInstant(nanoseconds: 0)
    private var deadline = ProbeInstant(nanoseconds: 0)

    var fd: Int32 { socket.fd }

    init(socket: ProbeDescriptor, endpoint: ProbeEndpoint, payload: String, timeout: Int64) {
        self.socket = socket
        self.endpoint = endpoint
        self.payload = Array(payload.utf8)
        self.timeout = timeout
    }

    func start(now: ProbeInstant) -> ProbeStep {
        started = now
        deadline = now.advanced(by: timeout)
        let code = ProbeSocket.connect(fd, to: endpoint)
        guard code == 0 else { return failed(code, during: "connect", now) }
        let sent = ProbeSocket.send(fd, payload[...])
        guard sent >= 0 else { return failed(Int32(-sent), during: "send", now) }
        return .wait(events: PollEvent.readable, until: deadline)
    }

    func advance(revents: Int16, now: ProbeInstant) -> ProbeStep {
        guard revents != 0 else {
            if now >= deadline { return .finished(ProbeObservation(outcome: .timeout, elapsedMilliseconds: now.milliseconds(since: started))) }
            return .wait(events: PollEvent.readable, until: deadline)
        }
        // Allocated per read, not per probe: thousands of probes wait at once, few read.
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = ProbeSocket.receive(fd, into: &buffer)
        if count < 0 {
            let code = Int32(-count)
            if code == EAGAIN || code == EWOULDBLOCK { return .wait(events: PollEvent.readable, until: deadline) }
            return failed(code, during: "receive", now)
        }
        return .finished(ProbeObservation(outcome: .reached, elapsedMilliseconds: now.milliseconds(since: started),
                                          answer: String(decoding: buffer[..<count], as: UTF8.self)))
    }

    private func failed(_ code: Int32, during step: String, _ now: ProbeInstant) -> ProbeStep {
        .finished(ProbeErrno.observation(code, during: step, elapsed: now.milliseconds(since: started)))
    }
}
