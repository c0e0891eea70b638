import Glibc

/// One HTTP try, as `curl` would make it: connect, send one request with
/// `Connection: close`, read until the response is complete.
final class HTTPConversation: ProbeConversation {
    private enum Phase { case connecting, sending, receiving }

    /// Responses are read up to this size; the rest of a larger body is not needed to judge it.
    static let responseLimit = 1 << 20

    private let socket: ProbeDescriptor
    private let endpoint: ProbeEndpoint
    private let request: [UInt8]
    private let bodyless: Bool
    private let timeout: Int64
    private var phase = Phase.connecting
    private var started = ProbeInstant(nanoseconds: 0)
    private var deadline = ProbeInstant(nanoseconds: 0)
    private var sent = 0
    private var response: [UInt8] = []

    var fd: Int32 { socket.fd }

    /// `host`: the name a probe by name looked up, which a client would put in `Host`.
    init(socket: ProbeDescriptor, endpoint: ProbeEndpoint, path: String, method: String, timeout: Int64, host: String? = nil) {
        self.socket = socket
        self.endpoint = endpoint
        self.timeout = timeout
        bodyless = method == "HEAD"
        request = Self.request(method: method, path: path, endpoint: endpoint, host: host)
    }

    /// The request bytes: HTTP/1.1 with `Host` as a browser would send it (the port only when
    /// not 80) and `Connection: close`, so the server ends the connection after answering.
    static func request(method: String, path: String, endpoint: ProbeEndpoint, host name: String? = nil) -> [UInt8] {
        let address = name.map { $0.hasSuffix(".") ? String($0.dropLast()) : $0 } ?? endpoint.address.description
        let host = endpoint.port == 80 ? address : "\(address):\(endpoint.port)"
        return Array("\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: lab-verify\r\nAccept: */*\r\nConnection: close\r\n\r\n".utf8)
    }

    func start(now: ProbeInstant) -> ProbeStep {
        started = now
        deadline = now.advanced(by: timeout)
        switch ProbeSocket.connect(fd, to: endpoint) {
        case 0:
            phase = .sending
            return send(now)
        case EINPROGRESS:
            return .wait(events: PollEvent.writable, until: deadline)
        case let code:
            return failed(code, during: "connect", now)
        }
    }

    func advance(revents: Int16, now: ProbeInstant) -> ProbeStep {
        guard revents != 0 else {
            if now >= deadline { return .finished(ProbeObservation(outcome: .timeout, elapsedMilliseconds: now.milliseconds(since: started))) }
            return .wait(events: phase == .receiving ? PollEvent.readable : PollEvent.writable, until: deadline)
        }
        switch phase {
        case .connecting:
            let code = ProbeSocket.pendingError(fd)
            guard code == 0 else { return failed(code, during: "connect", now) }
            phase = .sending
            return send(now)
        case .sending:
            return send(now)
        case .receiving:
            return receive(now)
        }
    }

    private func send(_ now: ProbeInstant) -> ProbeStep {
        while sent < request.count {
            let count = ProbeSocket.send(fd, request[sent...])
            if count < 0 {
                let code = Int32(-count)
                if code == EAGAIN { return .wait(events: PollEvent.writable, until: deadline) }
                return failed(code, during: "send", now)
            }
            sent += count
        }
        phase = .receiving
        return .wait(events: PollEvent.readable, until: deadline)
    }

    private func receive(_ now: ProbeInstant) -> ProbeStep {
        // Allocated per read, not per probe: thousands of probes wait at once, few read.
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = ProbeSocket.receive(fd, into: &buffer)
            if count < 0 {
                let code = Int32(-count)
                if code == EAGAIN || code == EWOULDBLOCK { break }
                // A reset after a complete response (some servers reset instead of closing)
                // still delivered the answer.
                if case .complete = ProbeHTTPReply.parse(response, atEnd: true, bodyless: bodyless) {
                    return complete(now, atEnd: true)
                }
                return failed(code, during: "receive", now)
            }
            if count == 0 || response.count + count >= Self.responseLimit {
                response += buffer[..<min(count, Self.responseLimit - response.count)]
                return complete(now, atEnd: true)
            }
            response += buffer[..<count]
        }
        return complete(now, atEnd: false)
    }

    private func complete(_ now: ProbeInstant, atEnd: Bool) -> ProbeStep {
        let elapsed = now.milliseconds(since: started)
        switch ProbeHTTPReply.parse(response, atEnd: atEnd, bodyless: bodyless) {
        case .incomplete:
            return .wait(events: PollEvent.readable, until: deadline)
        case .complete(let reply):
            return .finished(ProbeObservation(outcome: .reached, elapsedMilliseconds: elapsed, status: reply.status,
                                              body: String(decoding: reply.body, as: UTF8.self)))
        case .malformed(let reason):
            return .finished(ProbeObservation(outcome: .badAnswer, detail: reason, elapsedMilliseconds: elapsed))
        }
    }

    private func failed(_ code: Int32, during step: String, _ now: ProbeInstant) -> ProbeStep {
        .finished(ProbeErrno.observation(code, during: step, elapsed: now.milliseconds(since: started)))
    }
}
