/// A DNS message (RFC 1035 §4.1) as plain values. The counts of the header are not stored:
/// they are the sizes of the sections. The EDNS0 OPT pseudo-record (RFC 6891) is lifted out of
/// the additional section into `edns`, so code that answers never mistakes it for data.
public struct DNSMessage: Sendable, Hashable {
    public var header: DNSHeader
    public var questions: [DNSQuestion] = []
    public var answers: [DNSRecord] = []
    public var authorities: [DNSRecord] = []
    public var additionals: [DNSRecord] = []
    public var edns: EDNS?

    /// A query for `name`'s records of `type`: one question, recursion desired, no EDNS.
    public static func query(id: UInt16, name: DNSName, type: DNSType) -> DNSMessage {
        DNSMessage(header: DNSHeader(id: id, recursionDesired: true), questions: [DNSQuestion(name: name, type: type)])
    }

    /// The full response code: the header's 4 bits, extended by the OPT record's 8 (BADVERS is 16).
    public var rcode: DNSResponseCode {
        DNSResponseCode(rawValue: UInt16(edns?.extendedRcode ?? 0) << 4 | UInt16(header.rcode & 0x0f))
    }
}

/// The 12-byte header's fields other than the counts.
public struct DNSHeader: Sendable, Hashable {
    public var id: UInt16 = 0
    public var isResponse: Bool = false
    /// 0 QUERY; 4 NOTIFY and 5 UPDATE are the ones seen in practice.
    public var opcode: UInt8 = 0
    public var authoritative: Bool = false
    public var truncated: Bool = false
    public var recursionDesired: Bool = false
    public var recursionAvailable: Bool = false
    public var authenticData: Bool = false
    public var checkingDisabled: Bool = false
    /// The low 4 bits of the response code.
    public var rcode: UInt8 = 0
}

extension DNSHeader {
    /// The 16 flag bits: QR, Opcode(4), AA, TC, RD, RA, Z, AD, CD, RCODE(4).
    public var flags: UInt16 {
        var bits = UInt16(opcode & 0x0f) << 11 | UInt16(rcode & 0x0f)
        if isResponse { bits |= 0x8000 }
        if authoritative { bits |= 0x0400 }
        if truncated { bits |= 0x0200 }
        if recursionDesired { bits |= 0x0100 }
        if recursionAvailable { bits |= 0x0080 }
        if authenticData { bits |= 0x0020 }
        if checkingDisabled { bits |= 0x0010 }
        return bits
    }

    public init(id: UInt16, flags: UInt16) {
        self.init(id: id, isResponse: flags & 0x8000 != 0, opcode: UInt8(flags >> 11 & 0x0f),
                  authoritative: flags & 0x0400 != 0, truncated: flags & 0x0200 != 0,
                  recursionDesired: flags & 0x0100 != 0, recursionAvailable: flags & 0x0080 != 0,
                  authenticData: flags & 0x0020 != 0, checkingDisabled: flags & 0x0010 != 0,
                  rcode: UInt8(flags & 0x0f))
    }

    /// The flags as CoreDNS's log prints them (`qr,aa,rd`).
    public var flagText: String {
        [(isResponse, "qr"), (authoritative, "aa"), (truncated, "tc"), (recursionDesired, "rd"),
         (recursionAvailable, "ra"), (authenticData, "ad"), (checkingDisabled, "cd")]
            .filter(\.0).map(\.1).joined(separator: ",")
    }
}

public struct DNSQuestion: Sendable, Hashable {
    public var name: DNSName
    public var type: DNSType
    public var `class`: DNSClass

    public init(name: DNSName, type: DNSType, class: DNSClass = .internet) {
        self.name = name
        self.type = type
        self.class = `class`
    }
}

public struct DNSRecord: Sendable, Hashable {
    public var name: DNSName
    public var `class`: DNSClass
    public var ttl: UInt32
    public var data: DNSRecordData

    public init(name: DNSName, class: DNSClass = .internet, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.class = `class`
        self.ttl = ttl
        self.data = data
    }

    public var type: DNSType { data.type }
}

/// The RDATA of the types a cluster zone serves; anything else is kept as bytes.
public enum DNSRecordData: Sendable, Hashable {
    /// 4 octets.
    case a([UInt8])
    /// 16 octets.
    case aaaa([UInt8])
    case ns(DNSName)
    case cname(DNSName)
    case ptr(DNSName)
    case soa(SOAData)
    case srv(SRVData)
    /// Character strings of at most 255 octets each.
    case txt([[UInt8]])
    case other(DNSType, [UInt8])

    public var type: DNSType {
        switch self {
        case .a: .a
        case .aaaa: .aaaa
        case .ns: .ns
        case .cname: .cname
        case .ptr: .ptr
        case .soa: .soa
        case .srv: .srv
        case .txt: .txt
        case .other(let type, _): type
        }
    }
}

public struct SOAData: Sendable, Hashable {
    public var primary: DNSName
    public var mailbox: DNSName
    public var serial: UInt32
    public var refresh: UInt32
    public var retry: UInt32
    public var expire: UInt32
    /// The TTL of negative answers (RFC 2308).
    public var minimum: UInt32
}

/// RFC 2782. The target is never compressed on the wire.
public struct SRVData: Sendable, Hashable {
    public var priority: UInt16
    public var weight: UInt16
    public var port: UInt16
    public var target: DNSName
}

/// The OPT pseudo-record's fields (RFC 6891 §6.1.2).
public struct EDNS: Sendable, Hashable {
    /// The requester's UDP payload size (the OPT record's CLASS).
    public var udpPayloadSize: UInt16 = 1232
    /// The upper 8 bits of the response code.
    public var extendedRcode: UInt8 = 0
    public var version: UInt8 = 0
    /// DNSSEC OK.
    public var dnssecOK: Bool = false
    /// The options, undecoded (`{code, length, data}` each); a reply carries none.
    public var options: [UInt8] = []
}

public struct DNSType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSType(rawValue: 1)
    public static let ns = DNSType(rawValue: 2)
    public static let cname = DNSType(rawValue: 5)
    public static let soa = DNSType(rawValue: 6)
    public static let ptr = DNSType(rawValue: 12)
    public static let hinfo = DNSType(rawValue: 13)
    public static let txt = DNSType(rawValue: 16)
    public static let aaaa = DNSType(rawValue: 28)
    public static let srv = DNSType(rawValue: 33)
    public static let opt = DNSType(rawValue: 41)
    public static let any = DNSType(rawValue: 255)

    private static let names: [UInt16: String] = [1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 16: "TXT",
                                                   28: "AAAA", 33: "SRV", 41: "OPT", 255: "ANY"]

    /// `A`, `SRV`, …; `TYPE65` for types without a mnemonic here (RFC 3597).
    public var description: String { Self.names[rawValue] ?? "TYPE\(rawValue)" }

    /// Parses a mnemonic (any case) or `TYPEnn`.
    public init?(_ text: String) {
        let upper = text.uppercased()
        if let known = Self.names.first(where: { $0.value == upper }) { self.init(rawValue: known.key); return }
        guard upper.hasPrefix("TYPE"), let number = UInt16(upper.dropFirst(4)) else { return nil }
        self.init(rawValue: number)
    }
}

public struct DNSClass: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let internet = DNSClass(rawValue: 1)
    public static let chaos = DNSClass(rawValue: 3)
    public static let any = DNSClass(rawValue: 255)

    public var description: String {
        switch rawValue {
        case 1: "IN"
        case 3: "CH"
        case 4: "HS"
        case 255: "ANY"
        default: "CLASS\(rawValue)"
        }
    }
}

/// A response code, extended (12 bits) where EDNS carries the upper part.
public struct DNSResponseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let noError = DNSResponseCode(rawValue: 0)
    public static let formatError = DNSResponseCode(rawValue: 1)
    public static let serverFailure = DNSResponseCode(rawValue: 2)
    public static let nameError = DNSResponseCode(rawValue: 3)
    public static let notImplemented = DNSResponseCode(rawValue: 4)
    public static let refused = DNSResponseCode(rawValue: 5)
    public static let badVersion = DNSResponseCode(rawValue: 16)

    /// As dig and CoreDNS's log print it.
    public var description: String {
        switch rawValue {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        case 16: "BADVERS"
        default: "RCODE\(rawValue)"
        }
    }
}
