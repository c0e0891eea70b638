/// ICMP echo messages (RFC 792) as bytes, pure so they are tested without a socket.
///
/// A raw socket shares echo replies with every other raw ICMP socket of the namespace (other
/// probes, another `lab verify`, a `ping`), so a reply is ours only if identifier, sequence
/// and an 8-byte token chosen per engine all match.
enum ICMPEcho {
    struct Reply: Equatable {
        var identifier: UInt16
        var sequence: UInt16
        var token: UInt64
    }

    static let echoRequest: UInt8 = 8
    static let echoReply: UInt8 = 0

    /// An echo request: type 8, code 0, checksum, identifier, sequence, then the token
    /// big-endian as the payload.
    static func request(identifier: UInt16, sequence: UInt16, token: UInt64) -> [UInt8] {
        var message: [UInt8] = [echoRequest, 0, 0, 0]
        message += bigEndian(identifier) + bigEndian(sequence)
        message += (0..<8).map { UInt8(truncatingIfNeeded: token >> (56 - 8 * $0)) }
        let sum = checksum(message)
        message[2] = UInt8(sum >> 8)
        message[3] = UInt8(sum & 0xff)
        return message
    }

    /// The echo reply in a packet read from a raw socket, which starts with the IPv4 header.
    /// Nil for anything else (a truncated packet, another ICMP type, a short payload).
    static func reply(inPacket packet: ArraySlice<UInt8>) -> Reply? {
        guard let first = packet.first, first >> 4 == 4 else { return nil }
        let headerLength = Int(first & 0x0f) * 4
        guard headerLength >= 20, packet.count >= headerLength + 16,
              packet[packet.startIndex + 9] == 1 else { return nil }
        return reply(inMessage: packet.dropFirst(headerLength))
    }

    /// The echo reply in an ICMP message (no IP header).
    static func reply(inMessage message: ArraySlice<UInt8>) -> Reply? {
        let bytes = Array(message)
        guard bytes.count >= 16, bytes[0] == echoReply, bytes[1] == 0 else { return nil }
        let token = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Reply(identifier: UInt16(bytes[4]) << 8 | UInt16(bytes[5]),
                     sequence: UInt16(bytes[6]) << 8 | UInt16(bytes[7]), token: token)
    }

    /// The Internet checksum (RFC 1071): the one's complement of the one's-complement sum of
    /// 16-bit words. The kernel fills it in for ping sockets but not for raw ones.
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    private static func bigEndian(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }
}
