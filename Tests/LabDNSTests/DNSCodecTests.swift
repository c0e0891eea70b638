import Testing
@testable import LabDNS

/// The message codec: what it writes reads back the same, compression is used and followed,
/// and no input — truncated, looping, oversized or random — crashes the reader.
@Suite struct DNSCodecTests {
    static func name(_ text: String) -> DNSName { DNSName(text)! }

    static let sample: DNSMessage = {
        let web = name("web.default.svc.cluster.local")
        return DNSMessage(
            header: DNSHeader(id: 0xbeef, isResponse: true, authoritative: true, recursionDesired: true),
            questions: [DNSQuestion(name: web, type: .a)],
            answers: [DNSRecord(name: web, ttl: 30, data: .a([10, 96, 0, 20])),
                      DNSRecord(name: name("_http._tcp.web.default.svc.cluster.local"), ttl: 30,
                                data: .srv(SRVData(priority: 0, weight: 100, port: 80, target: web))),
                      DNSRecord(name: name("20.0.96.10.in-addr.arpa"), ttl: 30, data: .ptr(web)),
                      DNSRecord(name: name("x.cluster.local"), ttl: 30, data: .aaaa(Array(0..<16))),
                      DNSRecord(name: name("dns-version.cluster.local"), ttl: 30, data: .txt([Array("1.1.0".utf8)])),
                      DNSRecord(name: name("cluster.local"), ttl: 30, data: .ns(name("ns.dns.cluster.local")))],
            authorities: [DNSRecord(name: name("cluster.local"), ttl: 30, data: .soa(SOAData(
                primary: name("ns.dns.cluster.local"), mailbox: name("hostmaster.cluster.local"),
                serial: 7, refresh: 7200, retry: 1800, expire: 86400, minimum: 30)))],
            additionals: [DNSRecord(name: name("odd.cluster.local"), ttl: 5, data: .other(DNSType(rawValue: 99), [1, 2, 3]))],
            edns: EDNS(udpPayloadSize: 1232, dnssecOK: true, options: [0, 10, 0, 2, 0xab, 0xcd]))
    }()

    @Test func roundTrip() throws {
        let bytes = Self.sample.encoded()
        #expect(try DNSMessage(decoding: bytes) == Self.sample)
    }

    @Test func headerFlagsRoundTrip() {
        for flags in [UInt16(0), 0xffff, 0x8580, 0x0100, 0x7800] {
            let header = DNSHeader(id: 1, flags: flags)
            // Bit 6 (Z) is not kept.
            #expect(header.flags == flags & ~0x0040)
        }
    }

    @Test func ownerNamesAreCompressedAndSRVTargetsAreNot() throws {
        let bytes = Self.sample.encoded()
        let plain = Array("\u{3}web\u{7}default\u{3}svc\u{7}cluster\u{5}local\u{0}".utf8)
        // The question holds the name in full; the A record's owner is a pointer to it (offset 12).
        #expect(bytes[12..<12 + plain.count].elementsEqual(plain))
        let afterQuestion = 12 + plain.count + 4
        #expect(bytes[afterQuestion] == 0xc0 && bytes[afterQuestion + 1] == 12)
        // The SRV target is written out again, label by label.
        #expect(occurrences(of: plain, in: bytes) == 2)
        // Pinned: without compression the sample takes 507 bytes.
        #expect(bytes.count == 324)
    }

    @Test func compressionIsCaseInsensitiveAndKeepsTheFirstSpelling() throws {
        let message = DNSMessage(header: DNSHeader(id: 1), questions: [DNSQuestion(name: Self.name("WEB.Default.svc.cluster.local"), type: .a)],
                                 answers: [DNSRecord(name: Self.name("web.default.svc.cluster.local"), ttl: 1, data: .a([1, 2, 3, 4]))])
        let decoded = try DNSMessage(decoding: message.encoded())
        #expect(decoded.answers[0].name.description == "WEB.Default.svc.cluster.local.")
        #expect(decoded.answers[0].name.matches(Self.name("web.default.svc.cluster.local")))
    }

    @Test func readsPointersIntoEarlierNames() throws {
        // Header, then the question "a.example." (offset 12) and an answer owned by "b" + pointer.
        var bytes: [UInt8] = [0, 1, 0x81, 0, 0, 1, 0, 1, 0, 0, 0, 0]
        bytes += [1, 0x61, 7] + Array("example".utf8) + [0, 0, 1, 0, 1]
        bytes += [1, 0x62, 0xc0, 14, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 0, 0, 1]
        let message = try DNSMessage(decoding: bytes)
        #expect(message.answers[0].name.description == "b.example.")
        #expect(message.answers[0].data == .a([10, 0, 0, 1]))
    }

    @Test(arguments: [
        // A pointer to itself.
        [0xc0, 12] as [UInt8],
        // A pointer forwards.
        [0xc0, 14, 1, 0x61, 0],
        // Two labels, then a pointer back to the first: a loop through labels.
        [1, 0x61, 1, 0x62, 0xc0, 12],
        // A pointer past the end.
        [0xc0, 0xff],
        // Half a pointer.
        [0xc0],
    ])
    func pointerLoopsAndBadPointersAreErrors(_ name: [UInt8]) {
        let bytes: [UInt8] = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0] + name + [0, 1, 0, 1]
        #expect(throws: DNSDecodeError.self) { try DNSMessage(decoding: bytes) }
    }

    @Test func aLongChainOfBackwardPointersIsCut() throws {
        // A root name at 12, then pointers each to the one before: legal one by one, but more
        // hops than the reader follows.
        var bytes: [UInt8] = [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        var previous = 12
        for _ in 0..<200 {
            let here = bytes.count
            bytes += [0xc0 | UInt8(previous >> 8), UInt8(previous & 0xff)]
            previous = here
        }
        var reader = DNSMessageReader(bytes: bytes, offset: previous)
        #expect(throws: DNSDecodeError.badPointer(offset: previous - 2 * DNSMessageReader.maxPointerHops)) { try reader.name() }
        var short = DNSMessageReader(bytes: bytes, offset: 13 + 2 * 9)
        #expect(try short.name() == .root, "ten hops are fine")
    }

    @Test func labelsOver63AndNamesOver255AreRefused() {
        #expect(DNSName(String(repeating: "a", count: 64) + ".local") == nil)
        #expect(DNSName(String(repeating: "a", count: 63) + ".local") != nil)
        let long = Array(repeating: String(repeating: "b", count: 63), count: 4).joined(separator: ".")
        #expect(DNSName(long) == nil, "4 × 64 + 1 = 257 bytes")
        #expect(DNSName(String(long.dropFirst(2))) != nil, "255 bytes is the limit")
        #expect(DNSName("a..b") == nil)
        // On the wire: a length byte of 64 has the reserved top bits 01.
        let label64: [UInt8] = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 64] + Array(repeating: 0x61, count: 64) + [0, 0, 1, 0, 1]
        #expect(throws: DNSDecodeError.badLabelType(offset: 12)) { try DNSMessage(decoding: label64) }
        // Five labels of 63: 321 bytes.
        var tooLong: [UInt8] = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        for _ in 0..<5 { tooLong += [63] + Array(repeating: 0x61, count: 63) }
        tooLong += [0, 0, 1, 0, 1]
        #expect(throws: DNSDecodeError.nameTooLong(offset: 12)) { try DNSMessage(decoding: tooLong) }
    }

    @Test func everyTruncationIsAnErrorNotACrash() throws {
        let bytes = Self.sample.encoded()
        for length in 0..<bytes.count {
            #expect(throws: DNSDecodeError.self, "prefix of \(length) bytes") { try DNSMessage(decoding: Array(bytes.prefix(length))) }
        }
    }

    @Test func countsLargerThanTheMessageFailOnTheBytes() {
        let bytes: [UInt8] = [0, 1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]
        #expect(throws: DNSDecodeError.truncated(offset: 13)) { try DNSMessage(decoding: bytes) }
    }

    @Test func recordDataOfTheWrongLengthIsAnError() {
        var message: [UInt8] = [0, 1, 0x81, 0, 0, 0, 0, 1, 0, 0, 0, 0]
        message += [0, 0, 1, 0, 1, 0, 0, 0, 30, 0, 5, 1, 2, 3, 4, 5]
        #expect(throws: DNSDecodeError.badRecordData(offset: 23, type: .a)) { try DNSMessage(decoding: message) }
    }

    @Test func aSecondOPTIsAnError() {
        let opt: [UInt8] = [0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0]
        let bytes: [UInt8] = [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2] + opt + opt
        #expect(throws: DNSDecodeError.badOPT(offset: 23)) { try DNSMessage(decoding: bytes) }
    }

    @Test func truncationDropsWholeRecordsAndSetsTC() throws {
        let owner = Self.name("big.default.svc.cluster.local")
        let answers = (0..<60).map { DNSRecord(name: owner, ttl: 30, data: .a([10, 244, 0, UInt8($0)])) }
        let message = DNSMessage(header: DNSHeader(id: 9, isResponse: true), questions: [DNSQuestion(name: owner, type: .a)], answers: answers)
        let small = message.encoded(limit: 512)
        #expect(small.count <= 512)
        let decoded = try DNSMessage(decoding: small)
        #expect(decoded.header.truncated)
        #expect(decoded.answers.count == (512 - 12 - 35) / 16, "each A record is 16 bytes with a compressed owner")
        #expect(decoded.answers == Array(answers.prefix(decoded.answers.count)))
        let full = try DNSMessage(decoding: message.encoded())
        #expect(!full.header.truncated && full.answers.count == 60)
    }

    @Test func truncationKeepsTheOPTRecord() throws {
        let owner = Self.name("big.default.svc.cluster.local")
        let answers = (0..<100).map { DNSRecord(name: owner, ttl: 30, data: .a([10, 244, 0, UInt8($0)])) }
        let message = DNSMessage(header: DNSHeader(id: 9, isResponse: true), questions: [DNSQuestion(name: owner, type: .a)],
                                 answers: answers, edns: EDNS(udpPayloadSize: 1232))
        let bytes = message.encoded(limit: 1232)
        #expect(bytes.count <= 1232)
        let decoded = try DNSMessage(decoding: bytes)
        #expect(decoded.header.truncated && decoded.edns != nil && decoded.answers.count == 73)
    }

    /// Random messages and random mutations of a valid one, from a fixed seed: decoding either
    /// succeeds (and then re-encodes and decodes to the same message) or throws.
    @Test func fuzzedInputNeverCrashes() throws {
        var random = SplitMix64(seed: 0x1abd_05)
        // A response (every record type) and queries the zone answers, to mutate.
        let valids = [Self.sample.encoded(),
                      ClusterZoneTests.query("_pg._tcp.db.store.svc.cluster.local", .srv, edns: EDNS(udpPayloadSize: 4096)),
                      ClusterZoneTests.query("10-244-1-2.default.pod.cluster.local", .a)]
        var decodedCount = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                // Small counts, so the random bodies get read rather than fail at once.
                if bytes.count >= 12 { for index in [4, 6, 8, 10] { bytes[index] = 0; bytes[index + 1] = UInt8(random.next() % 4) } }
            } else {
                bytes = valids[(round / 2) % valids.count]
                for _ in 0..<(1 + Int(random.next() % 4)) {
                    bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
                }
                if random.next() % 4 == 0 { bytes.removeLast(Int(random.next() % UInt64(bytes.count))) }
            }
            // Whatever arrives, the server's path answers or stays silent without crashing, and
            // a readable query header always gets a reply with its id.
            let exchange = ClusterZoneTests.zone.respond(to: bytes, transport: round % 3 == 0 ? .tcp : .udp)
            if let header = DNSMessage.header(of: bytes), !header.isResponse {
                let reply = try #require(exchange.reply)
                #expect(DNSMessage.header(of: reply)?.id == header.id)
                #expect(reply.count <= (round % 3 == 0 ? 65535 : max(512, exchange.bufferSize)))
            }
            if let message = try? DNSMessage(decoding: bytes) {
                decodedCount += 1
                #expect(try DNSMessage(decoding: message.encoded()).questions == message.questions)
            }
        }
        #expect(decodedCount > 1000, "the mutations leave many messages readable: \(decodedCount)")
    }

    private func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> Int {
        guard haystack.count >= needle.count else { return 0 }
        return (0...(haystack.count - needle.count)).filter { haystack[$0..<$0 + needle.count].elementsEqual(needle) }.count
    }
}

/// A small deterministic generator (Steele, Lea and Flood's SplitMix64), so fuzz rounds are
/// the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
