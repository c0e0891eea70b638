/// A value that is written as its text wherever it is stored (`topology.json`, the applied
/// file): `"10.244.1.2"`, not an object of fields. The one implementation of that coding for
/// every address type.
public protocol TextCoded: Codable, CustomStringConvertible {
    /// What the text should have been, for the decoding error: "an IPv4 address".
    static var textKind: String { get }
    init?(_ text: String)
}

extension TextCoded {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "not \(Self.textKind): \(text)"))
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
