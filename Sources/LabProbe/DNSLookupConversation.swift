import Glibc
import LabDNS
import LabSpec

/// One lookup through a pod's resolver, as glibc makes it: each name of the search path in
/// turn (`ResolverWalk`), one query at a time over a UDP socket connected to the nameserver,
/// asked again over TCP when the reply comes truncated. A query unanswered within the timeout,
/// or refused (an ICMP port unreachable: a REJECT rule, no DNS endpoint), ends the lookup: a
/// resolver would not get further either.
///
/// The socket was opened in the pod's namespace, so the queries leave from the pod and cross
/// its node's rules (DNAT to the DNS pod, conntrack, NetworkPolicy) like any of its packets.
final class DNSLookupConversation: ProbeConversation {
    /// How the lookup ended.
    enum Result {
        /// A reply ended the walk: answers of the type (NOERROR), or a code saying why not.
        case answered(LookupObservation)
        /// No reply: the observation of the try, and what was seen so far.
        case silent(ProbeObservation, LookupObservation)
    }

    private let udp: ProbeDescriptor
    private var tcp: ProbeDescriptor?
    /// The name, the resolver, and (for a probe by name) the port to connect to afterwards.
    let lookup: NameLookup
    private let type: DNSType
    private let typeName: String
    private let timeout: Int64
    /// Opens a socket in the pod's namespace, for the TCP retry of a truncated reply.
    private let openSocket: (ProbeSocket.Kind) -> ProbeSocket.Opened
    private var walk: ResolverWalk
    private var question = DNSQuestion(name: .root, type: .a)
    private var id: UInt16 = 0
    private var query: [UInt8] = []
    private var started = ProbeInstant(nanoseconds: 0)
    private var deadline = ProbeInstant(nanoseconds: 0)
    /// TCP: the query still to send, and the reply read so far (with its 2-byte length).
    private var tcpConnected = false
    private var tcpSent = 0
    private var tcpReply: [UInt8] = []
    private var usedTCP = false
    /// TCP sockets of earlier queries, kept open until the lookup ends: the loop may still
    /// have one registered, and a closed number handed to the next socket would confuse it.
    private var retired: [ProbeDescriptor] = []
    private(set) var result: Result?

    var fd: Int32 { tcp?.fd ?? udp.fd }

    init(socket: ProbeDescriptor, lookup: NameLookup, type: DNSProbeType, timeout: Int64,
         openSocket: @escaping (ProbeSocket.Kind) -> ProbeSocket.Opened) {
        udp = socket
        self.lookup = lookup
        self.type = DNSProbeMessage.type(type)
        typeName = type.rawValue
        self.timeout = timeout
        self.openSocket = openSocket
        walk = ResolverWalk(candidates: lookup.resolver.candidates(for: DNSProbeMessage.lookupName(lookup.name, type: type)))
    }

    func start(now: ProbeInstant) -> ProbeStep {
        started = now
        let code = ProbeSocket.connect(udp.fd, to: lookup.server)
        guard code == 0 else { return silent(ProbeErrno.observation(code, during: "connect to the nameserver", elapsed: 0), now) }
        return step(walk.first, now)
    }

    func advance(revents: Int16, now: ProbeInstant) -> ProbeStep {
        if tcp != nil { return advanceTCP(revents: revents, now: now) }
        guard revents != 0 else { return now >= deadline ? timedOut(now) : .wait(events: PollEvent.readable, until: deadline) }
        return receive(udp.fd, now) { datagram in
            guard let reply = DNSProbeMessage.reply(Array(datagram), id: id, question: question) else { return nil }
            return reply.header.truncated ? retryOverTCP(now) : replied(reply, now)
        }
    }

    /// Reads `fd` until `handle` makes a step of what arrived (nil: read on), the socket has
    /// nothing more (wait until it is readable) or the read fails.
    private func receive(_ fd: Int32, _ now: ProbeInstant, _ handle: (ArraySlice<UInt8>) -> ProbeStep?) -> ProbeStep {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = ProbeSocket.receive(fd, into: &buffer)
            if count < 0 {
                let code = Int32(-count)
                if code == EAGAIN || code == EWOULDBLOCK { return .wait(events: PollEvent.readable, until: deadline) }
                return failedQuery(code, now)
            }
            if let step = handle(buffer[..<count]) { return step }
        }
    }

    // MARK: Steps of the walk

    private func step(_ next: ResolverWalk.Step, _ now: ProbeInstant) -> ProbeStep {
        switch next {
        case .ask(let name):
            return ask(name, now)
        case .done(let rcode, _):
            return finish(LookupObservation(name: lookup.name, type: typeName, queries: walk.queries, rcode: rcode.description,
                                            overTCP: usedTCP ? true : nil), now)
        }
    }

    private func ask(_ name: String, _ now: ProbeInstant) -> ProbeStep {
        guard let dnsName = DNSName(name) else {
            // Too long with a suffix: glibc skips such a candidate; it cannot exist.
            return step(walk.record(.nameError, answers: 0), now)
        }
        id = UInt16.random(in: .min ... .max)
        question = DNSQuestion(name: dnsName, type: type)
        query = DNSProbeMessage.query(id: id, name: dnsName, type: type)
        if let tcp { retired.append(tcp) }
        tcp = nil
        deadline = now.advanced(by: timeout)
        let sent = ProbeSocket.send(udp.fd, query[...])
        guard sent >= 0 else { return failedQuery(Int32(-sent), now) }
        return .wait(events: PollEvent.readable, until: deadline)
    }

    private func replied(_ reply: DNSMessage, _ now: ProbeInstant) -> ProbeStep {
        let answers = DNSProbeMessage.answers(reply, type: type)
        let next = walk.record(reply.rcode, answers: answers.count)
        if case .done(.noError, answered: true) = next {
            return finish(LookupObservation(name: lookup.name, type: typeName, queries: walk.queries, rcode: reply.rcode.description,
                                            answeredName: question.name.description, answers: answers,
                                            overTCP: usedTCP ? true : nil), now)
        }
        return step(next, now)
    }

    private func finish(_ observation: LookupObservation, _ now: ProbeInstant) -> ProbeStep {
        result = .answered(observation)
        return .finished(ProbeObservation(outcome: .reached, elapsedMilliseconds: now.milliseconds(since: started), lookup: observation))
    }

    /// What the lookup saw so far, and the query that got nothing.
    private var seen: LookupObservation {
        LookupObservation(name: lookup.name, type: typeName, queries: walk.queries, overTCP: usedTCP ? true : nil)
    }

    private var currentQuery: String {
        "the DNS query for \(question.name) \(question.type) to \(lookup.server.address):\(lookup.server.port)\(tcp != nil ? " over TCP" : "")"
    }

    private func timedOut(_ now: ProbeInstant) -> ProbeStep {
        walk.recordSilence("timeout")
        let elapsed = now.milliseconds(since: started)
        return silent(ProbeObservation(outcome: .timeout, detail: "\(currentQuery) got no answer", elapsedMilliseconds: elapsed), now)
    }

    private func failedQuery(_ code: Int32, _ now: ProbeInstant) -> ProbeStep {
        var observation = ProbeErrno.observation(code, during: "DNS query", elapsed: now.milliseconds(since: started))
        walk.recordSilence(observation.outcome.rawValue)
        if observation.outcome == .refused {
            observation.detail = "\(currentQuery) was rejected (nothing serves DNS there, or a rule rejects it)"
        } else if observation.outcome != .error {
            observation.detail = "\(currentQuery) failed" + (observation.detail.map { ": \($0)" } ?? "")
        }
        return silent(observation, now)
    }

    private func silent(_ observation: ProbeObservation, _ now: ProbeInstant) -> ProbeStep {
        var observation = observation
        let lookupSeen = seen
        observation.lookup = lookupSeen
        result = .silent(observation, lookupSeen)
        return .finished(observation)
    }

    // MARK: TCP, after a truncated reply (RFC 7766)

    private func retryOverTCP(_ now: ProbeInstant) -> ProbeStep {
        switch openSocket(.tcp) {
        case .failed(let code, let step):
            return silent(ProbeObservation(outcome: .error, errno: ProbeErrno.name(code), detail: "\(step) for the TCP retry of a truncated DNS reply",
                                           elapsedMilliseconds: now.milliseconds(since: started)), now)
        case .socket(let fd):
            tcp = ProbeDescriptor(fd)
            usedTCP = true
            tcpConnected = false
            tcpSent = 0
            tcpReply = []
            deadline = now.advanced(by: timeout)
            query = [UInt8(query.count >> 8), UInt8(query.count & 0xff)] + query
            switch ProbeSocket.connect(fd, to: lookup.server) {
            case 0: return sendTCP(now)
            case EINPROGRESS: return .wait(events: PollEvent.writable, until: deadline)
            case let code: return failedQuery(code, now)
            }
        }
    }

    private func advanceTCP(revents: Int16, now: ProbeInstant) -> ProbeStep {
        guard let tcp else { return timedOut(now) }
        guard revents != 0 else {
            return now >= deadline ? timedOut(now) : .wait(events: tcpConnected ? PollEvent.readable : PollEvent.writable, until: deadline)
        }
        if !tcpConnected {
            let code = ProbeSocket.pendingError(tcp.fd)
            return code == 0 ? sendTCP(now) : failedQuery(code, now)
        }
        if tcpSent < query.count { return sendTCP(now) }
        return receive(tcp.fd, now) { segment in
            if segment.isEmpty { return failedQuery(ECONNRESET, now) }
            tcpReply += segment
            guard tcpReply.count >= 2 else { return nil }
            let length = Int(tcpReply[0]) << 8 | Int(tcpReply[1])
            guard tcpReply.count >= 2 + length else { return nil }
            guard let reply = DNSProbeMessage.reply(Array(tcpReply[2..<2 + length]), id: id, question: question) else {
                return silent(ProbeObservation(outcome: .badAnswer, detail: "\(currentQuery) got a reply that is not an answer to it",
                                               elapsedMilliseconds: now.milliseconds(since: started)), now)
            }
            retired.append(tcp)
            self.tcp = nil
            return replied(reply, now)
        }
    }

    private func sendTCP(_ now: ProbeInstant) -> ProbeStep {
        guard let tcp else { return timedOut(now) }
        tcpConnected = true
        let sent = ProbeSocket.send(tcp.fd, query[tcpSent...])
        if sent < 0 {
            let code = Int32(-sent)
            if code == EAGAIN || code == EWOULDBLOCK { return .wait(events: PollEvent.writable, until: deadline) }
            return failedQuery(code, now)
        }
        tcpSent += sent
        return .wait(events: tcpSent < query.count ? PollEvent.writable : PollEvent.readable, until: deadline)
    }
}
