/// An IPv4 prefix such as `10.244.0.0/16`. Always stored in canonical form (host bits zero);
/// `init?(_:)` refuses text whose host bits are set, because `10.244.1.5/16` in a lab file is
/// almost always a typo for a different network.
public struct IPv4Network: Sendable, Hashable, TextCoded {
    public static let textKind = "an IPv4 CIDR"

    public let address: IPv4Address
    public let prefixLength: Int

    public init?(address: IPv4Address, prefixLength: Int) {
        guard (0...32).contains(prefixLength) else { return nil }
        guard address.value & ~IPv4Network.mask(prefixLength) == 0 else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// The network that contains `address` at this prefix length (host bits cleared).
    public init(containing address: IPv4Address, prefixLength: Int) {
        precondition((0...32).contains(prefixLength))
        self.address = IPv4Address(address.value & IPv4Network.mask(prefixLength))
        self.prefixLength = prefixLength
    }

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(String(parts[0])),
              parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), !parts[1].isEmpty, parts[1].count <= 2,
              let length = Int(parts[1]) else { return nil }
        self.init(address: address, prefixLength: length)
    }

    public static func mask(_ prefixLength: Int) -> UInt32 {
        prefixLength == 0 ? 0 : UInt32.max << UInt32(32 - prefixLength)
    }

    public var mask: UInt32 { IPv4Network.mask(prefixLength) }
    public var size: UInt64 { UInt64(1) << UInt64(32 - prefixLength) }
    public var broadcast: IPv4Address { IPv4Address(address.value | ~mask) }
    public var description: String { "\(address)/\(prefixLength)" }

    public func contains(_ other: IPv4Address) -> Bool { other.value & mask == address.value }

    public func contains(_ other: IPv4Network) -> Bool {
        other.prefixLength >= prefixLength && contains(other.address)
    }

    public func overlaps(_ other: IPv4Network) -> Bool { contains(other) || other.contains(self) }

    /// The `index`-th address of the network (`host(1)` is the conventional gateway, `.1`).
    public func host(_ index: UInt32) -> IPv4Address { address.advanced(by: index) }

    /// Usable host addresses: everything but the network and broadcast address
    /// (a /31 or /32 has none by this rule, and we do not support them as segments).
    public var usableHostRange: ClosedRange<UInt32>? {
        guard prefixLength <= 30 else { return nil }
        return (address.value + 1)...(broadcast.value - 1)
    }
}
