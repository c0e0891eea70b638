/// A MAC address. Generated ones are locally administered unicast (`02:…`), derived from a
/// stable hash so a lab's MACs are the same on every `lab up` (and the CNI plugin's trick of
/// pinning the bridge MAC comes for free: the bridge never changes address as ports join).
public struct MACAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 6)
        self.bytes = bytes
    }

    public static func derived(from parts: [String]) -> MACAddress {
        let hash = StableHash.mixed(parts)
        var bytes: [UInt8] = [0x02]
        for shift in stride(from: 32, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: hash >> UInt64(shift)))
        }
        return MACAddress(bytes: bytes)
    }

    public var description: String {
        bytes.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: ":")
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        let parts = text.split(separator: ":").compactMap { UInt8($0, radix: 16) }
        guard parts.count == 6 else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad MAC \(text)"))
        }
        bytes = parts
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
