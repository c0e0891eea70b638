/// An IPv4 address held as its 32-bit value, so arithmetic (next host, masks) is plain integer math.
public struct IPv4Address: Sendable, Hashable, Comparable, TextCoded {
    public static let textKind = "an IPv4 address"

    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad text strictly: four decimal octets, no leading zeros (they read as
    /// octal in some tools, so we refuse them rather than guess).
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  !(part.count > 1 && part.first == "0"),
                  let octet = UInt32(part), octet <= 255 else { return nil }
            result = result << 8 | octet
        }
        value = result
    }

    /// The four octets in network order.
    public var octets: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    public var description: String { octets.map(String.init).joined(separator: ".") }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }

    /// The address `offset` positions after this one (wraps are the caller's concern).
    public func advanced(by offset: UInt32) -> IPv4Address { IPv4Address(value &+ offset) }
}
