import Glibc

/// One TCP try: connect, then read the first line the server sends, if it sends one within
/// `greetingWait` (the agent greets with its pod name at once; most servers say nothing
/// until spoken to, and waiting out the whole timeout for them would make every probe slow).
final class TCPConversation: ProbeConversation {
    /// A greeting is read up to its first newline or this many bytes.
    static let greetingLimit = 512

    private let socket: ProbeDescriptor
    private let endpoint: ProbeEndpoint
    private let timeout: Int64
    private let greetingWait: Int64
    private var connected = false
    private var started = ProbeInstant(nanoseconds: 0)
    private var deadline = ProbeInstant(nanoseconds: 0)
    private var greeting: [UInt8] = []
    private var buffer = [UInt8](repeating: 0, count: 1024)

    var fd: Int32 { socket.fd }

    init(socket: ProbeDescriptor, endpoint: ProbeEndpoint, timeout: Int64, greetingWait: Int64) {
        self.socket = socket
        self.endpoint = endpoint
        self.timeout = timeout
        self.greetingWait = greetingWait
    }

    func start(now: ProbeInstant) -> ProbeStep {
        started = now
        deadline = now.advanced(by: timeout)
        switch ProbeSocket.connect(fd, to: endpoint) {
        case 0: return didConnect(now)
        case EINPROGRESS: return .wait(events: PollEvent.writable, until: deadline)
        case let code: return failed(code, during: "connect", now)
        }
    }

    func advance(revents: Int16, now: ProbeInstant) -> ProbeStep {
        if !connected {
            guard revents != 0 else {
                if now >= deadline { return .finished(ProbeObservation(outcome: .timeout, elapsedMilliseconds: now.milliseconds(since: started))) }
                return .wait(events: PollEvent.writable, until: deadline)
            }
            let code = ProbeSocket.pendingError(fd)
            return code == 0 ? didConnect(now) : failed(code, during: "connect", now)
        }
        guard revents != 0 else {
            // The greeting wait is over: connected is the answer, with or without words.
            if now >= deadline { return answered(now) }
            return .wait(events: PollEvent.readable, until: deadline)
        }
        while true {
            let count = ProbeSocket.receive(fd, into: &buffer)
            if count < 0 {
                let code = Int32(-count)
                if code == EAGAIN || code == EWOULDBLOCK { return .wait(events: PollEvent.readable, until: deadline) }
                return greeting.isEmpty ? failed(code, during: "receive", now) : answered(now)
            }
            greeting += buffer[..<count]
            if count == 0 || greeting.contains(UInt8(ascii: "\n")) || greeting.count >= Self.greetingLimit {
                return answered(now)
            }
        }
    }

    private func didConnect(_ now: ProbeInstant) -> ProbeStep {
        connected = true
        // From here, `deadline` is the end of the greeting wait.
        deadline = min(deadline, now.advanced(by: greetingWait))
        return .wait(events: PollEvent.readable, until: deadline)
    }

    private func answered(_ now: ProbeInstant) -> ProbeStep {
        let line = greeting.prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }.prefix(Self.greetingLimit)
        return .finished(ProbeObservation(outcome: .reached, elapsedMilliseconds: now.milliseconds(since: started),
                                          answer: greeting.isEmpty ? nil : String(decoding: line, as: UTF8.self)))
    }

    private func failed(_ code: Int32, during step: String, _ now: ProbeInstant) -> ProbeStep {
        .finished(ProbeErrno.observation(code, during: step, elapsed: now.milliseconds(since: started)))
    }
}
