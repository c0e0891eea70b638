import Glibc

/// One ping try: `count` echo requests on a connected raw socket that a BPF filter limits to
/// replies with this try's identifier.
///
/// The next echo goes out as soon as the previous one is answered, or `interval` after it was
/// sent if it was not (like `ping -A`): on a healthy lab three echoes take three round trips,
/// not 0.4 s, while a lost echo still leaves time for the next to get through. Each echo has
/// `timeout` to be answered; a reply later than that counts as lost.
final class PingConversation: ProbeConversation {
    private let socket: ProbeDescriptor
    private let endpoint: ProbeEndpoint
    private let count: Int
    private let interval: Int64
    private let timeout: Int64
    private let identifier: UInt16
    private let token: UInt64
    private var started = ProbeInstant(nanoseconds: 0)
    private var sentAt: [ProbeInstant] = []
    /// The same sends on the wall clock, the clock of the kernel's receive timestamps.
    private var sentAtWall: [ProbeInstant] = []
    private var rtts: [Double?] = []
    private var nextSend = ProbeInstant(nanoseconds: 0)
    /// The error the socket reported (an ICMP unreachable, a local route error), if any.
    private var failure: Int32?
    private var buffer = [UInt8](repeating: 0, count: 576)

    var fd: Int32 { socket.fd }

    init(socket: ProbeDescriptor, endpoint: ProbeEndpoint, count: Int, interval: Int64, timeout: Int64,
         identifier: UInt16, token: UInt64) {
        self.socket = socket
        self.endpoint = endpoint
        self.count = max(count, 1)
        self.interval = interval
        self.timeout = timeout
        self.identifier = identifier
        self.token = token
    }

    func start(now: ProbeInstant) -> ProbeStep {
        started = now
        ProbeSocket.keepEchoReplies(fd, identifier: identifier)
        let code = ProbeSocket.connect(fd, to: endpoint)
        if code != 0 {
            failure = code
            return finish(now)
        }
        return sendEcho(now) ?? schedule(now)
    }

    func advance(revents: Int16, now: ProbeInstant) -> ProbeStep {
        if revents & (PollEvent.readable | PollEvent.failure) != 0, let step = receive(now) { return step }
        if sentAt.count < count, now >= nextSend || lastEchoAnswered, let step = sendEcho(now) { return step }
        return schedule(now)
    }

    private var lastEchoAnswered: Bool { rtts.last.map { $0 != nil } ?? true }

    /// Sends the next echo; a step only if that ended the try.
    private func sendEcho(_ now: ProbeInstant) -> ProbeStep? {
        let sequence = UInt16(truncatingIfNeeded: sentAt.count + 1)
        let packet = ICMPEcho.request(identifier: identifier, sequence: sequence, token: token)
        // The clocks are read before the send, as ping reads them: on loopback the reply is
        // already queued (and stamped) when send returns.
        let sendingAt = ProbeInstant.now(), sendingAtWall = ProbeInstant.wallClock()
        let sent = ProbeSocket.send(fd, packet[...])
        // A full queue (EAGAIN, ENOBUFS) is a lost echo, as for ping; anything else (no
        // route, EPERM from a firewall rule) is the answer.
        let code = Int32(-sent)
        if sent < 0, code != EAGAIN, code != ENOBUFS {
            failure = code
            return finish(now)
        }
        // The clocks read at the send itself, not the loop's: with many probes in one loop
        // iteration, the loop's time can be milliseconds old and would inflate every RTT.
        sentAt.append(sendingAt)
        sentAtWall.append(sendingAtWall)
        rtts.append(nil)
        nextSend = now.advanced(by: interval)
        return nil
    }

    /// Reads every queued reply; a step only if the socket reported an error.
    private func receive(_ now: ProbeInstant) -> ProbeStep? {
        while true {
            let (count, received) = ProbeSocket.receiveStamped(fd, into: &buffer)
            if count < 0 {
                let code = Int32(-count)
                if code == EAGAIN || code == EWOULDBLOCK { return nil }
                // A connected raw socket reports an ICMP error about our echoes here
                // (EHOSTUNREACH, ENETUNREACH): the try is over.
                failure = code
                return finish(now)
            }
            guard let reply = ICMPEcho.reply(inPacket: buffer[..<count]), reply.identifier == identifier,
                  reply.token == token else { continue }
            let index = Int(reply.sequence) - 1
            guard sentAt.indices.contains(index), rtts[index] == nil,
                  now < sentAt[index].advanced(by: timeout) else { continue }
            // The kernel's receive stamp, so the time the reply waited for this loop does not
            // count; the clock now if the stamp is missing.
            let arrival = received ?? ProbeInstant.wallClock()
            rtts[index] = max(0, arrival.milliseconds(since: sentAtWall[index]))
        }
    }

    /// Waits for the next send or the earliest deadline of an unanswered echo; finishes when
    /// every echo has been sent and is answered or expired.
    private func schedule(_ now: ProbeInstant) -> ProbeStep {
        var wake: ProbeInstant? = sentAt.count < count ? nextSend : nil
        for (index, sent) in sentAt.enumerated() where rtts[index] == nil {
            let deadline = sent.advanced(by: timeout)
            if deadline > now { wake = min(wake ?? deadline, deadline) }
        }
        guard let wake else { return finish(now) }
        return .wait(events: PollEvent.readable, until: wake)
    }

    private func finish(_ now: ProbeInstant) -> ProbeStep {
        let answered = rtts.compactMap { $0 }
        let elapsed = now.milliseconds(since: started)
        var observation: ProbeObservation
        if answered.isEmpty, let failure {
            observation = ProbeErrno.observation(failure, during: "ping", elapsed: elapsed)
        } else {
            observation = ProbeObservation(outcome: answered.isEmpty ? .timeout : .reached, elapsedMilliseconds: elapsed)
        }
        observation.echoesSent = sentAt.count
        observation.rttMilliseconds = answered
        return .finished(observation)
    }
}
