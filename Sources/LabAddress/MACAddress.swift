/// A MAC address (six bytes). The ones a lab makes are locally administered unicast (`02:…`),
/// derived from names in `LabPlan` so they are the same on every `lab up`.
public struct MACAddress: Sendable, Hashable, TextCoded {
    public static let textKind = "a MAC address"

    public var bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 6)
        self.bytes = bytes
    }

    /// Six hexadecimal bytes separated by colons (`02:42:0a:f4:01:00`).
    public init?(_ text: String) {
        let parts = text.split(separator: ":").compactMap { UInt8($0, radix: 16) }
        guard parts.count == 6 else { return nil }
        bytes = parts
    }

    /// `02:42:0a:f4:01:00`, as `ip` prints it.
    public var description: String {
        bytes.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: ":")
    }
}
