/// A domain name as DNS carries it: labels of 1 to 63 octets, at most 255 octets on the wire
/// (labels with their length bytes, plus the root's zero byte). Labels keep the case they came
/// with, so an answer can echo a question's spelling; comparison and lookup go by `key`, which
/// folds ASCII case only, as RFC 4343 says.
public struct DNSName: Sendable, Hashable, CustomStringConvertible {
    public static let maxLabelLength = 63
    public static let maxWireLength = 255

    /// From the leftmost label to the rightmost; empty for the root.
    public let labels: [[UInt8]]

    public static let root = DNSName(validated: [])

    init(validated labels: [[UInt8]]) { self.labels = labels }

    /// Checks the limits; nil when a label is empty or too long, or the name too long.
    public init?(labels: [[UInt8]]) {
        guard labels.allSatisfy({ (1...Self.maxLabelLength).contains($0.count) }),
              Self.wireLength(of: labels) <= Self.maxWireLength else { return nil }
        self.labels = labels
    }

    /// Parses presentation text: labels separated by dots, an optional trailing dot (every name
    /// here is absolute), `"."` for the root. No escapes: names of a lab are plain DNS labels.
    public init?(_ text: String) {
        if text == "." { self = .root; return }
        var body = Substring(text)
        if body.hasSuffix(".") { body = body.dropLast() }
        guard !body.isEmpty else { return nil }
        self.init(labels: body.split(separator: ".", omittingEmptySubsequences: false).map { Array($0.utf8) })
    }

    static func wireLength(of labels: [[UInt8]]) -> Int { labels.reduce(1) { $0 + $1.count + 1 } }

    public var wireLength: Int { Self.wireLength(of: labels) }

    /// The name with ASCII letters folded to lower case: what lookups compare.
    public var key: DNSName { DNSName(validated: labels.map { $0.map(Self.fold) }) }

    static func fold(_ byte: UInt8) -> UInt8 { (0x41...0x5a).contains(byte) ? byte | 0x20 : byte }

    /// Case-insensitive equality (RFC 4343); `==` compares the exact bytes.
    public func matches(_ other: DNSName) -> Bool { key == other.key }

    /// Whether this name is `zone` or below it.
    public func isWithin(_ zone: DNSName) -> Bool {
        labels.count >= zone.labels.count && DNSName(validated: Array(labels.suffix(zone.labels.count))).matches(zone)
    }

    /// The name without its leftmost `count` labels.
    public func dropping(_ count: Int) -> DNSName { DNSName(validated: Array(labels.dropFirst(count))) }

    /// `label.self`; nil when the result would break a limit.
    public func prepending(_ label: String) -> DNSName? { DNSName(labels: [Array(label.utf8)] + labels) }

    /// Absolute presentation form with a trailing dot, as dig and CoreDNS's log print names.
    /// Bytes that would be ambiguous in text (dots inside a label, spaces, quotes, backslashes,
    /// non-printable bytes) are escaped as RFC 1035 §5.1 does, so a malicious name cannot forge
    /// a log line.
    public var description: String {
        if labels.isEmpty { return "." }
        var text = ""
        for label in labels {
            for byte in label {
                switch byte {
                case 0x2e, 0x5c, 0x22, 0x28, 0x29, 0x3b, 0x40, 0x24:
                    text += "\\" + String(UnicodeScalar(byte))
                case 0x21...0x7e:
                    text.append(Character(UnicodeScalar(byte)))
                default:
                    let digits = String(byte)
                    text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
                }
            }
            text += "."
        }
        return text
    }
}
