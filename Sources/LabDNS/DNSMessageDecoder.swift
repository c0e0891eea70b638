/// Why a message could not be read, and where. Every read is bounds-checked: bytes from the
/// network never crash the reader, they end up here.
public enum DNSDecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The message ends inside the field that starts at `offset`.
    case truncated(offset: Int)
    /// A label length byte with the reserved top bits `01` or `10` (RFC 6891 retired them).
    case badLabelType(offset: Int)
    /// A compression pointer that does not point strictly backwards, or too many of them: the
    /// classic pointer loop.
    case badPointer(offset: Int)
    case nameTooLong(offset: Int)
    /// RDATA whose length does not fit its type (an A record of 5 bytes, a name that overruns).
    case badRecordData(offset: Int, type: DNSType)
    /// More than one OPT record, or one not owned by the root (RFC 6891 §6.1.1).
    case badOPT(offset: Int)

    public var description: String {
        switch self {
        case .truncated(let offset): "message truncated at byte \(offset)"
        case .badLabelType(let offset): "reserved label type at byte \(offset)"
        case .badPointer(let offset): "compression pointer at byte \(offset) does not point backwards"
        case .nameTooLong(let offset): "name at byte \(offset) longer than 255 bytes"
        case .badRecordData(let offset, let type): "\(type) data at byte \(offset) malformed"
        case .badOPT(let offset): "OPT record at byte \(offset) malformed or repeated"
        }
    }
}

extension DNSMessage {
    public static let headerLength = 12

    /// The header alone, when at least 12 bytes arrived: enough to answer FORMERR to a message
    /// whose body cannot be read.
    public static func header(of bytes: some Collection<UInt8>) -> DNSHeader? {
        let prefix = Array(bytes.prefix(headerLength))
        guard prefix.count == headerLength else { return nil }
        return DNSHeader(id: UInt16(prefix[0]) << 8 | UInt16(prefix[1]), flags: UInt16(prefix[2]) << 8 | UInt16(prefix[3]))
    }

    /// Reads a whole message. Bytes after the last record are ignored, as most servers do.
    public init(decoding bytes: [UInt8]) throws(DNSDecodeError) {
        var reader = DNSMessageReader(bytes: bytes)
        let id = try reader.u16()
        let flags = try reader.u16()
        let counts = [try reader.u16(), try reader.u16(), try reader.u16(), try reader.u16()]
        var questions: [DNSQuestion] = []
        // Counts come from the sender: each entry needs at least 5 bytes (questions) or 11
        // (records), so a count the message cannot hold fails on the bytes, not on memory.
        for _ in 0..<counts[0] {
            let name = try reader.name()
            questions.append(DNSQuestion(name: name, type: DNSType(rawValue: try reader.u16()), class: DNSClass(rawValue: try reader.u16())))
        }
        var sections: [[DNSRecord]] = [[], [], []]
        var edns: EDNS?
        for section in 0..<3 {
            for _ in 0..<counts[section + 1] {
                let start = reader.offset
                let name = try reader.name()
                let type = DNSType(rawValue: try reader.u16())
                let rawClass = try reader.u16()
                let ttl = try reader.u32()
                let length = Int(try reader.u16())
                let dataStart = reader.offset
                guard dataStart + length <= bytes.count else { throw .truncated(offset: dataStart) }
                if type == .opt {
                    guard section == 2, edns == nil, name.labels.isEmpty else { throw .badOPT(offset: start) }
                    edns = EDNS(udpPayloadSize: rawClass, extendedRcode: UInt8(ttl >> 24), version: UInt8(ttl >> 16 & 0xff),
                                dnssecOK: ttl & 0x8000 != 0, options: Array(bytes[dataStart..<dataStart + length]))
                    reader.offset = dataStart + length
                    continue
                }
                let data = try reader.recordData(type: type, length: length)
                sections[section].append(DNSRecord(name: name, class: DNSClass(rawValue: rawClass), ttl: ttl, data: data))
            }
        }
        self.init(header: DNSHeader(id: id, flags: flags), questions: questions, answers: sections[0],
                  authorities: sections[1], additionals: sections[2], edns: edns)
    }
}

/// A cursor over a message's bytes; every read checks the bounds first.
struct DNSMessageReader {
    let bytes: [UInt8]
    var offset = 0

    /// Pointer hops a name may take. Pointers must point strictly backwards, which alone ends
    /// every chain; the cap bounds the work a hostile message can ask for.
    static let maxPointerHops = 64

    mutating func u8() throws(DNSDecodeError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(offset: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws(DNSDecodeError) -> UInt16 {
        guard offset + 2 <= bytes.count else { throw .truncated(offset: offset) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func u32() throws(DNSDecodeError) -> UInt32 {
        UInt32(try u16()) << 16 | UInt32(try u16())
    }

    mutating func take(_ count: Int) throws(DNSDecodeError) -> [UInt8] {
        guard count >= 0, offset + count <= bytes.count else { throw .truncated(offset: offset) }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// Reads a name at the cursor, following compression pointers; the cursor ends after the
    /// name's bytes in place (after the first pointer, if any).
    mutating func name() throws(DNSDecodeError) -> DNSName {
        let start = offset
        var labels: [[UInt8]] = []
        var wireLength = 1
        var position = offset
        var resume: Int?
        var hops = 0
        while true {
            guard position < bytes.count else { throw .truncated(offset: position) }
            let length = Int(bytes[position])
            switch length & 0xc0 {
            case 0x00:
                if length == 0 {
                    offset = resume ?? position + 1
                    return DNSName(validated: labels)
                }
                guard position + 1 + length <= bytes.count else { throw .truncated(offset: position) }
                wireLength += length + 1
                guard wireLength <= DNSName.maxWireLength else { throw .nameTooLong(offset: start) }
                labels.append(Array(bytes[position + 1...position + length]))
                position += 1 + length
            case 0xc0:
                guard position + 2 <= bytes.count else { throw .truncated(offset: position) }
                let target = (length & 0x3f) << 8 | Int(bytes[position + 1])
                hops += 1
                guard target < position, hops <= Self.maxPointerHops else { throw .badPointer(offset: position) }
                if resume == nil { resume = position + 2 }
                position = target
            default:
                throw .badLabelType(offset: position)
            }
        }
    }

    mutating func recordData(type: DNSType, length: Int) throws(DNSDecodeError) -> DNSRecordData {
        let start = offset
        let end = start + length
        func expectEnd() throws(DNSDecodeError) {
            guard offset == end else { throw .badRecordData(offset: start, type: type) }
        }
        // Names inside RDATA may point anywhere earlier in the message, but must end inside it.
        switch type {
        case .a, .aaaa:
            guard length == (type == .a ? 4 : 16) else { throw .badRecordData(offset: start, type: type) }
            let address = try take(length)
            return type == .a ? .a(address) : .aaaa(address)
        case .ns, .cname, .ptr:
            let target = try name()
            try expectEnd()
            return type == .ns ? .ns(target) : type == .cname ? .cname(target) : .ptr(target)
        case .soa:
            let primary = try name()
            let mailbox = try name()
            guard offset + 20 <= end else { throw .badRecordData(offset: start, type: type) }
            let soa = SOAData(primary: primary, mailbox: mailbox, serial: try u32(), refresh: try u32(), retry: try u32(),
                              expire: try u32(), minimum: try u32())
            try expectEnd()
            return .soa(soa)
        case .srv:
            guard length >= 7 else { throw .badRecordData(offset: start, type: type) }
            let srv = SRVData(priority: try u16(), weight: try u16(), port: try u16(), target: try name())
            try expectEnd()
            return .srv(srv)
        case .txt:
            var strings: [[UInt8]] = []
            while offset < end {
                let count = Int(try u8())
                guard offset + count <= end else { throw .badRecordData(offset: start, type: type) }
                strings.append(try take(count))
            }
            return .txt(strings)
        default:
            return .other(type, try take(length))
        }
    }
}
