/// How a query arrived: it decides the reply's size limit.
public enum DNSTransport: String, Sendable, Hashable {
    case udp, tcp
}

/// One query and its reply, as the server sends and logs them.
public struct DNSExchange: Sendable {
    /// The bytes to send back; nil when the message gets no reply (shorter than a header, or
    /// itself a response: answering those lets two servers loop).
    public var reply: [UInt8]?
    public var question: DNSQuestion?
    public var queryID: UInt16
    public var querySize: Int
    public var dnssecOK: Bool
    /// The requester's UDP payload size (512 without EDNS).
    public var bufferSize: Int
    public var rcode: DNSResponseCode
    public var replyHeader: DNSHeader?
}

extension ClusterZone {
    /// The largest UDP payload this server offers in its OPT record: the size that avoids IP
    /// fragmentation on usual paths (DNS flag day 2020).
    public static let advertisedPayloadSize: UInt16 = 1232

    /// Answers a query as CoreDNS's `kubernetes` plugin does (see the type's comment for the
    /// records). Pure: the same query and zone give the same reply.
    ///
    /// - Not a QUERY: NOTIMP. Not exactly one question: FORMERR. EDNS version above 0: BADVERS.
    /// - A name outside the cluster domain and the reverse zones: REFUSED at once (RA=0), since
    ///   a lab has no upstream to forward to and a client must not wait for a timeout.
    /// - Otherwise authoritative (AA=1): the records of that name and type; NOERROR with no
    ///   answer when the name exists with other types only (NODATA); NXDOMAIN when it does not
    ///   exist. Both negative answers carry the zone's SOA (RFC 2308).
    /// Names match without regard to case; answers echo the question's spelling.
    public func answer(_ query: DNSMessage) -> DNSMessage {
        var header = DNSHeader(id: query.header.id, isResponse: true, opcode: query.header.opcode,
                               recursionDesired: query.header.recursionDesired, checkingDisabled: query.header.checkingDisabled)
        var reply = DNSMessage(header: header)
        if let edns = query.edns {
            reply.edns = EDNS(udpPayloadSize: Self.advertisedPayloadSize, dnssecOK: edns.dnssecOK)
        }
        func finish(_ code: DNSResponseCode) -> DNSMessage {
            reply.header.rcode = UInt8(code.rawValue & 0x0f)
            if code.rawValue > 0x0f { reply.edns?.extendedRcode = UInt8(code.rawValue >> 4) }
            return reply
        }
        guard query.header.opcode == 0 else { return finish(.notImplemented) }
        guard query.questions.count == 1, let question = query.questions.first else { return finish(.formatError) }
        reply.questions = [question]
        if let edns = query.edns, edns.version > 0 { return finish(.badVersion) }
        guard question.class == .internet || question.class == .any,
              let apex = Self.apex(of: question.name, domain: domain) else { return finish(.refused) }

        header = reply.header
        header.authoritative = true
        reply.header = header
        let key = question.name.key
        let (found, exists) = lookup(key)
        let matching = found.filter { question.type == .any || $0.type == question.type }
        if matching.isEmpty {
            // The negative TTL is min(SOA TTL, SOA minimum) (RFC 2308); both are the zone's TTL.
            let soa = DNSRecord(name: apex, ttl: options.ttl, data: .soa(Self.soa(apex: apex, options: options)))
            reply.authorities = [soa]
            return finish(exists ? .noError : .nameError)
        }
        reply.answers = matching.map { record in
            var echoed = record
            echoed.name = question.name
            return echoed
        }
        // Addresses of the targets, which saves the client a query (CoreDNS does the same).
        var seen = Set<DNSName>()
        for record in matching {
            let target: DNSName
            switch record.data {
            case .srv(let srv): target = srv.target
            case .ns(let server): target = server
            default: continue
            }
            guard seen.insert(target.key).inserted else { continue }
            reply.additionals += records(named: target).filter { $0.type == .a || $0.type == .aaaa }
        }
        return finish(.noError)
    }

    /// The records of a lower-case name and whether it exists, including the pod names
    /// `pods insecure` makes up from the address in the first label.
    private func lookup(_ key: DNSName) -> (records: [DNSRecord], exists: Bool) {
        if let found = records[key] { return (found, true) }
        if options.pods == .insecure, key.labels.count == domain.labels.count + 3,
           key.dropping(2) == DNSName(labels: [Array("pod".utf8)] + domain.labels),
           namespaces.contains(String(decoding: key.labels[1], as: UTF8.self)),
           key.labels[0].allSatisfy({ (0x30...0x39).contains($0) || $0 == 0x2d }),
           let ip = IPv4(String(decoding: key.labels[0], as: UTF8.self).replacingOccurrences(of: "-", with: ".")) {
            return ([DNSRecord(name: key, ttl: options.ttl, data: .a(ip.octets))], true)
        }
        return ([], existing.contains(key))
    }

    /// Reads a query off the wire and answers it, within the size the transport allows: 512
    /// bytes over UDP, or the requester's EDNS size (never below 512); 65535 over TCP. A
    /// message whose body cannot be read gets FORMERR (header only) when its header can be.
    public func respond(to bytes: [UInt8], transport: DNSTransport) -> DNSExchange {
        var exchange = DNSExchange(reply: nil, question: nil, queryID: 0, querySize: bytes.count, dnssecOK: false,
                                   bufferSize: 512, rcode: .formatError, replyHeader: nil)
        guard let header = DNSMessage.header(of: bytes) else { return exchange }
        exchange.queryID = header.id
        guard !header.isResponse else { return exchange }
        let query: DNSMessage
        do {
            query = try DNSMessage(decoding: bytes)
        } catch {
            let reply = DNSHeader(id: header.id, isResponse: true, opcode: header.opcode,
                                  recursionDesired: header.recursionDesired, rcode: UInt8(DNSResponseCode.formatError.rawValue))
            exchange.reply = DNSMessage(header: reply).encoded()
            exchange.replyHeader = reply
            return exchange
        }
        exchange.question = query.questions.first
        exchange.dnssecOK = query.edns?.dnssecOK ?? false
        exchange.bufferSize = max(512, Int(query.edns?.udpPayloadSize ?? 512))
        let reply = answer(query)
        exchange.rcode = reply.rcode
        let limit = transport == .tcp ? 65535 : exchange.bufferSize
        let encoded = reply.encoded(limit: limit)
        exchange.reply = encoded
        exchange.replyHeader = DNSMessage.header(of: encoded)
        return exchange
    }
}
