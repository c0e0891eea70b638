/// One nf_tables trace event (`NFT_MSG_TRACE`), as `nft monitor trace` prints a line of it:
/// the table and chain being evaluated, the rule (by handle) or the chain's policy, the
/// verdict, and — in the first event of a base chain's run — the packet's headers and devices.
/// Decoded from the message bytes alone, so it is testable without a kernel.
public struct NFTraceEvent: Sendable, Hashable {
    public enum Kind: UInt32, Sendable, Hashable {
        case policy = 1
        case `return` = 2
        case rule = 3
    }

    public var family: UInt8
    public var table: String
    public var chain: String
    public var kind: Kind
    /// The rule's handle; nil for a policy or an implicit return.
    public var handle: UInt64?
    /// `NF_DROP 0`, `NF_ACCEPT 1`, `NFT_CONTINUE -1`, `NFT_BREAK -2`, `NFT_JUMP -3`,
    /// `NFT_GOTO -4`, `NFT_RETURN -5`.
    public var verdictCode: Int32?
    public var verdictChain: String?
    /// Per skb and namespace; never compare it across namespaces.
    public var id: UInt32
    public var inputInterface: UInt32?
    public var outputInterface: UInt32?
    public var mark: UInt32?
    public var policy: UInt32?
    public var networkHeader: [UInt8]?
    public var transportHeader: [UInt8]?

    /// `accept`, `drop`, `continue`, `jump X`, `goto X`, `return`.
    public var verdict: String {
        switch verdictCode {
        case 0: return "drop"
        case 1: return "accept"
        case 2: return "stolen"
        case 3: return "queue"
        case -1: return "continue"
        case -2: return "break"
        case -3: return "jump \(verdictChain ?? "")"
        case -4: return "goto \(verdictChain ?? "")"
        case -5: return "return"
        case nil: return policy == 0 ? "drop" : (kind == .policy ? "accept" : "")
        default: return "verdict \(verdictCode!)"
        }
    }

    /// `NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_TRACE`.
    public static let messageType: UInt16 = (10 << 8) | 17

    /// Decodes one netlink message (its `nlmsghdr` included); nil when it is not a trace event.
    public static func decode(_ message: [UInt8]) -> NFTraceEvent? {
        guard message.count >= 20 else { return nil }
        let type = UInt16(message[4]) | UInt16(message[5]) << 8
        guard type == messageType else { return nil }
        let family = message[16]
        let attributes = NetlinkMessage(bytes: message).attributes(afterHeaderOfSize: 4)
        guard let table = attributes.string(1), let chain = attributes.string(2),
              let rawKind = attributes.bigEndian32(4), let kind = Kind(rawValue: rawKind),
              let id = attributes.bigEndian32(6) else { return nil }
        var event = NFTraceEvent(family: family, table: table, chain: chain, kind: kind, id: id)
        if let bytes = attributes[3], bytes.count == 8 {
            event.handle = bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
        if let verdict = attributes.nested(5) {
            event.verdictCode = verdict.bigEndian32(1).map { Int32(bitPattern: $0) }
            event.verdictChain = verdict.string(2)
        }
        event.inputInterface = attributes.bigEndian32(10)
        event.outputInterface = attributes.bigEndian32(12)
        event.mark = attributes.bigEndian32(14)
        event.policy = attributes.bigEndian32(16)
        event.networkHeader = attributes[8]
        event.transportHeader = attributes[9]
        return event
    }
}

/// The fields of an IPv4 packet's first bytes that a trace joins and shows.
public struct TracedPacketHeader: Sendable, Hashable {
    public var source: [UInt8]
    public var destination: [UInt8]
    public var `protocol`: UInt8
    public var tos: UInt8
    public var identification: UInt16
    public var sourcePort: UInt16?
    public var destinationPort: UInt16?
    /// TCP flags (SYN 0x02, RST 0x04, ACK 0x10), or the ICMP type.
    public var flags: UInt8?
    /// The ICMP echo identifier.
    public var icmpID: UInt16?

    /// Reads the IPv4 header and, when given, the transport header (the kernel sends them
    /// apart, each cut to its first bytes).
    public init?(network: [UInt8], transport: [UInt8]?) {
        guard network.count >= 20, network[0] >> 4 == 4 else { return nil }
        source = Array(network[12..<16])
        destination = Array(network[16..<20])
        `protocol` = network[9]
        tos = network[1]
        identification = UInt16(network[4]) << 8 | UInt16(network[5])
        guard let transport else { return }
        switch `protocol` {
        case 6 where transport.count >= 14:
            sourcePort = UInt16(transport[0]) << 8 | UInt16(transport[1])
            destinationPort = UInt16(transport[2]) << 8 | UInt16(transport[3])
            flags = transport[13]
        case 17 where transport.count >= 4:
            sourcePort = UInt16(transport[0]) << 8 | UInt16(transport[1])
            destinationPort = UInt16(transport[2]) << 8 | UInt16(transport[3])
        case 1 where transport.count >= 6:
            flags = transport[0]
            icmpID = UInt16(transport[4]) << 8 | UInt16(transport[5])
        default:
            break
        }
    }

    static func text(_ address: [UInt8]) -> String { address.map(String.init).joined(separator: ".") }
    public var sourceText: String { Self.text(source) }
    public var destinationText: String { Self.text(destination) }
}

extension NetlinkAttributes {
    /// A 32-bit attribute in network byte order (nf_tables sends every number big-endian).
    func bigEndian32(_ type: some BinaryInteger) -> UInt32? {
        guard let bytes = self[type], bytes.count >= 4 else { return nil }
        return UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
    }
}
