import CMnl
import Glibc

/// A connection tracking tuple: addresses, protocol, and ports (or an ICMP echo's identifier).
public struct ConntrackTuple: Sendable, Hashable {
    public var source: [UInt8]
    public var destination: [UInt8]
    /// 6 TCP, 17 UDP, 1 ICMP.
    public var `protocol`: UInt8
    public var sourcePort: UInt16?
    public var destinationPort: UInt16?
    public var icmpID: UInt16?
    public var icmpType: UInt8?
    public var icmpCode: UInt8?

    /// `src=10.244.1.2 dst=10.96.0.20 sport=41234 dport=80`, as `conntrack -L` prints a tuple.
    public var text: String {
        var parts = ["src=\(source.map(String.init).joined(separator: "."))", "dst=\(destination.map(String.init).joined(separator: "."))"]
        if let sourcePort { parts.append("sport=\(sourcePort)") }
        if let destinationPort { parts.append("dport=\(destinationPort)") }
        if let icmpType { parts.append("type=\(icmpType)") }
        if let icmpCode { parts.append("code=\(icmpCode)") }
        if let icmpID { parts.append("id=\(icmpID)") }
        return parts.joined(separator: " ")
    }
}

extension ConntrackTuple {
    /// The original tuple of a traced packet's connection. An ICMP packet is taken for an echo
    /// request (type 8, code 0): what a trace sends.
    public init(_ packet: TracedPacketHeader) {
        self.init(source: packet.source, destination: packet.destination, protocol: packet.protocol,
                  sourcePort: packet.sourcePort, destinationPort: packet.destinationPort, icmpID: packet.icmpID,
                  icmpType: packet.protocol == 1 ? 8 : nil, icmpCode: packet.protocol == 1 ? 0 : nil)
    }
}

/// One conntrack entry as ctnetlink reports it.
public struct ConntrackEntry: Sendable, Hashable {
    public var original: ConntrackTuple
    public var reply: ConntrackTuple
    /// `IPS_*` bits: SEEN_REPLY 0x2, ASSURED 0x4, CONFIRMED 0x8, SRC_NAT 0x10, DST_NAT 0x20.
    public var status: UInt32
    /// TCP's state (`tcp_conntrack`), nil for other protocols.
    public var tcpState: UInt8?

    static let tcpStates = ["NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2"]

    /// `ESTABLISHED ASSURED`, `SYN_SENT UNREPLIED`: the words `conntrack -L` uses.
    public var stateText: String {
        var words: [String] = []
        if let tcpState { words.append(Int(tcpState) < Self.tcpStates.count ? Self.tcpStates[Int(tcpState)] : "STATE\(tcpState)") }
        if status & 0x2 == 0 { words.append("UNREPLIED") }
        if status & 0x4 != 0 { words.append("ASSURED") }
        return words.joined(separator: " ")
    }
}

/// Exact conntrack lookups and deletions over ctnetlink, in one namespace. Equivalent to
/// `conntrack -G …` and `conntrack -D …` with the full original tuple (`ip netns exec NS`).
/// The conntrack table is per namespace, hence one socket per namespace, created inside it.
public final class ConntrackSocket: @unchecked Sendable {
    private let netlink: NetfilterNetlink
    public var namespace: String { netlink.namespace }
    private var sequence: UInt32 = 0

    // include/uapi/linux/netfilter/nfnetlink_conntrack.h
    static let getMessage: UInt16 = (1 << 8) | 1     // NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET
    static let deleteMessage: UInt16 = (1 << 8) | 2  // IPCTNL_MSG_CT_DELETE
    static let tupleOriginal: UInt16 = 1, tupleReply: UInt16 = 2, status: UInt16 = 3, protoInfo: UInt16 = 4
    static let tupleIP: UInt16 = 1, tupleProto: UInt16 = 2
    static let ipv4Source: UInt16 = 1, ipv4Destination: UInt16 = 2
    static let protoNumber: UInt16 = 1, protoSourcePort: UInt16 = 2, protoDestinationPort: UInt16 = 3
    static let icmpID: UInt16 = 4, icmpType: UInt16 = 5, icmpCode: UInt16 = 6
    static let protoInfoTCP: UInt16 = 1, tcpState: UInt16 = 1

    public init(in namespace: NetworkNamespace) throws {
        netlink = try NetfilterNetlink(in: namespace)
    }

    /// Equivalent to: `conntrack -G -p PROTO -s SRC -d DST --sport S --dport D`. Nil when there
    /// is no such entry (ENOENT).
    public func get(_ tuple: ConntrackTuple) throws -> ConntrackEntry? {
        guard let replies = try exchange(Self.getMessage, tuple, operation: "get conntrack entry") else { return nil }
        for message in replies {
            if let entry = Self.decode(message) { return entry }
        }
        return nil
    }

    /// Equivalent to: `conntrack -D …` with the full original tuple. False when there was none.
    @discardableResult
    public func delete(_ tuple: ConntrackTuple) throws -> Bool {
        try exchange(Self.deleteMessage, tuple, operation: "delete conntrack entry") != nil
    }

    /// Sends one request and reads its answer: the data messages, or nil for ENOENT.
    private func exchange(_ type: UInt16, _ tuple: ConntrackTuple, operation: String) throws -> [[UInt8]]? {
        sequence &+= 1
        let request = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 8)
        defer { request.deallocate() }
        memset(request, 0, 512)
        // 1. nlmsghdr and nfgenmsg (AF_INET, version 0, resource id 0).
        let header = mnl_nlmsg_put_header(request)!
        header.pointee.nlmsg_type = type
        header.pointee.nlmsg_flags = UInt16(NLM_F_REQUEST | NLM_F_ACK)
        header.pointee.nlmsg_seq = sequence
        let family = mnl_nlmsg_put_extra_header(header, 4)!.assumingMemoryBound(to: UInt8.self)
        family[0] = UInt8(AF_INET)
        // 2. CTA_TUPLE_ORIG { CTA_TUPLE_IP { src, dst }, CTA_TUPLE_PROTO { proto, ports | icmp } }.
        let original = mnl_attr_nest_start(header, Self.tupleOriginal | UInt16(NLA_F_NESTED))
        let ip = mnl_attr_nest_start(header, Self.tupleIP | UInt16(NLA_F_NESTED))
        tuple.source.withUnsafeBytes { mnl_attr_put(header, Self.ipv4Source, 4, $0.baseAddress) }
        tuple.destination.withUnsafeBytes { mnl_attr_put(header, Self.ipv4Destination, 4, $0.baseAddress) }
        mnl_attr_nest_end(header, ip)
        let proto = mnl_attr_nest_start(header, Self.tupleProto | UInt16(NLA_F_NESTED))
        mnl_attr_put_u8(header, Self.protoNumber, tuple.protocol)
        if let port = tuple.sourcePort { mnl_attr_put_u16(header, Self.protoSourcePort, port.bigEndian) }
        if let port = tuple.destinationPort { mnl_attr_put_u16(header, Self.protoDestinationPort, port.bigEndian) }
        if let id = tuple.icmpID { mnl_attr_put_u16(header, Self.icmpID, id.bigEndian) }
        if let icmpType = tuple.icmpType { mnl_attr_put_u8(header, Self.icmpType, icmpType) }
        if let icmpCode = tuple.icmpCode { mnl_attr_put_u8(header, Self.icmpCode, icmpCode) }
        mnl_attr_nest_end(header, proto)
        mnl_attr_nest_end(header, original)
        guard mnl_socket_sendto(netlink.socket, header, Int(header.pointee.nlmsg_len)) >= 0 else {
            throw KernelError(operation: operation, object: tuple.text, namespace: namespace, errno: currentErrno())
        }
        // 3. Data messages until the ack (or the error).
        var messages: [[UInt8]] = []
        while true {
            let read: [[UInt8]]
            switch netlink.receive() {
            case .success(let received): read = received
            case .failure(let error): throw KernelError(operation: operation, object: tuple.text, namespace: namespace, errno: error.code)
            }
            for message in read {
                let (messageType, messageSequence) = message.withUnsafeBytes {
                    ($0.loadUnaligned(fromByteOffset: 4, as: UInt16.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
                }
                guard messageSequence == sequence else { continue }
                if messageType == UInt16(NLMSG_ERROR) {
                    let error = -message.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 16, as: Int32.self) }
                    if error == 0 { return messages }
                    if error == ENOENT { return nil }
                    throw KernelError(operation: operation, object: tuple.text, namespace: namespace, errno: error)
                }
                if messageType == UInt16(NLMSG_DONE) { return messages }
                messages.append(message)
            }
        }
    }

    /// A `IPCTNL_MSG_CT_NEW` message (what a GET answers with) as an entry; pure.
    public static func decode(_ message: [UInt8]) -> ConntrackEntry? {
        guard message.count >= 20 else { return nil }
        let attributes = NetlinkMessage(bytes: message).attributes(afterHeaderOfSize: 4)
        guard let original = attributes.nested(tupleOriginal).flatMap(decodeTuple),
              let reply = attributes.nested(tupleReply).flatMap(decodeTuple) else { return nil }
        let status = attributes.bigEndian32(Self.status) ?? 0
        let tcpState = attributes.nested(protoInfo)?.nested(protoInfoTCP)?.u8(Self.tcpState)
        return ConntrackEntry(original: original, reply: reply, status: status, tcpState: tcpState)
    }

    static func decodeTuple(_ attributes: NetlinkAttributes) -> ConntrackTuple? {
        guard let ip = attributes.nested(tupleIP), let source = ip.ipv4(ipv4Source), let destination = ip.ipv4(ipv4Destination),
              let proto = attributes.nested(tupleProto), let number = proto.u8(protoNumber) else { return nil }
        func port(_ type: UInt16) -> UInt16? {
            guard let bytes = proto[type], bytes.count >= 2 else { return nil }
            return UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        }
        return ConntrackTuple(source: source, destination: destination, protocol: number,
                              sourcePort: port(protoSourcePort), destinationPort: port(protoDestinationPort),
                              icmpID: port(icmpID), icmpType: proto.u8(icmpType), icmpCode: proto.u8(icmpCode))
    }
}
