import Testing
@testable import LabKernel

/// Trace events decoded from bytes laid out as `nft_trace_notify` writes them (every number
/// big-endian, attributes padded to four bytes).
@Suite struct NFTraceEventTests {
    static func attribute(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        let length = UInt16(4 + payload.count)
        var bytes = [UInt8(length & 0xff), UInt8(length >> 8), UInt8(type & 0xff), UInt8(type >> 8)] + payload
        while bytes.count % 4 != 0 { bytes.append(0) }
        return bytes
    }

    static func be32(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)] }
    static func string(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }

    static func message(_ attributes: [[UInt8]], type: UInt16 = NFTraceEvent.messageType, family: UInt8 = 2) -> [UInt8] {
        var body: [UInt8] = [family, 0, 0, 0]
        for attribute in attributes { body += attribute }
        let length = UInt32(16 + body.count)
        var header: [UInt8] = [UInt8(length & 0xff), UInt8(length >> 8 & 0xff), 0, 0]
        header += [UInt8(type & 0xff), UInt8(type >> 8), 0, 0]
        header += [UInt8](repeating: 0, count: 8)
        return header + body
    }

    @Test func aRuleEventCarriesItsChainHandleVerdictAndPacket() throws {
        let network: [UInt8] = [0x45, 0xa0, 0, 60, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 244, 1, 2, 10, 96, 0, 20]
        let transport: [UInt8] = [0xa1, 0x12, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0xa0, 0x02, 0xff, 0xff, 0, 0, 0, 0]
        let verdict = Self.attribute(1, Self.be32(UInt32(bitPattern: -3))) + Self.attribute(2, Self.string("KUBE-SERVICES"))
        let bytes = Self.message([
            Self.attribute(1, Self.string("nat")),
            Self.attribute(2, Self.string("PREROUTING")),
            Self.attribute(3, [0, 0, 0, 0, 0, 0, 0, 42]),
            Self.attribute(4, Self.be32(3)),
            Self.attribute(5 | 0x8000, verdict),
            Self.attribute(6, Self.be32(0x9e126503)),
            Self.attribute(8, network),
            Self.attribute(9, transport),
            Self.attribute(10, Self.be32(7)),
        ])
        let event = try #require(NFTraceEvent.decode(bytes))
        #expect(event.table == "nat" && event.chain == "PREROUTING")
        #expect(event.kind == .rule && event.handle == 42)
        #expect(event.verdict == "jump KUBE-SERVICES")
        #expect(event.id == 0x9e126503)
        #expect(event.inputInterface == 7 && event.outputInterface == nil)
        let header = try #require(TracedPacketHeader(network: event.networkHeader!, transport: event.transportHeader))
        #expect(header.sourceText == "10.244.1.2" && header.destinationText == "10.96.0.20")
        #expect(header.sourcePort == 41234 && header.destinationPort == 80)
        #expect(header.flags == 0x02 && header.tos == 0xa0 && header.identification == 0x1234)
    }

    @Test func aPolicyEventHasNoHandle() throws {
        let bytes = Self.message([
            Self.attribute(1, Self.string("lab_trace")), Self.attribute(2, Self.string("seen-input")),
            Self.attribute(4, Self.be32(1)), Self.attribute(6, Self.be32(1)), Self.attribute(16, Self.be32(1)),
        ], family: 1)
        let event = try #require(NFTraceEvent.decode(bytes))
        #expect(event.kind == .policy && event.handle == nil && event.family == 1)
        #expect(event.verdict == "accept")
    }

    @Test func otherMessagesAreNotEvents() {
        #expect(NFTraceEvent.decode(Self.message([], type: (10 << 8) | 6)) == nil)
        #expect(NFTraceEvent.decode([1, 2, 3]) == nil)
    }
}

/// A ctnetlink answer decoded from bytes laid out as `ctnetlink_fill_info` writes them.
@Suite struct ConntrackDecodeTests {
    typealias Bytes = NFTraceEventTests

    static func tuple(_ source: [UInt8], _ destination: [UInt8], _ sport: UInt16, _ dport: UInt16) -> [UInt8] {
        let ip = Bytes.attribute(1, source) + Bytes.attribute(2, destination)
        var proto = Bytes.attribute(1, [6])
        proto += Bytes.attribute(2, [UInt8(sport >> 8), UInt8(sport & 0xff)])
        proto += Bytes.attribute(3, [UInt8(dport >> 8), UInt8(dport & 0xff)])
        return Bytes.attribute(1 | 0x8000, ip) + Bytes.attribute(2 | 0x8000, proto)
    }

    @Test func aDNATedEntryShowsTheEndpointInItsReplyTuple() throws {
        let tcp = Bytes.attribute(1 | 0x8000, Bytes.attribute(1, [3]))
        let bytes = Bytes.message([
            Bytes.attribute(1 | 0x8000, Self.tuple([10, 244, 1, 2], [10, 96, 0, 20], 41234, 80)),
            Bytes.attribute(2 | 0x8000, Self.tuple([10, 244, 2, 2], [10, 244, 1, 2], 8080, 41234)),
            Bytes.attribute(3, Bytes.be32(0x2 | 0x4 | 0x8 | 0x20)),
            Bytes.attribute(4 | 0x8000, tcp),
        ], type: (1 << 8) | 0)
        let entry = try #require(ConntrackSocket.decode(bytes))
        #expect(entry.original.text == "src=10.244.1.2 dst=10.96.0.20 sport=41234 dport=80")
        #expect(entry.reply.text == "src=10.244.2.2 dst=10.244.1.2 sport=8080 dport=41234")
        #expect(entry.stateText == "ESTABLISHED ASSURED")
    }
}
