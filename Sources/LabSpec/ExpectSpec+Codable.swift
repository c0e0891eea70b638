/// Bounds are written as a lab file writes them (`"<5ms"`, `"0%"`), so the JSON report says
/// what the user wrote rather than a comparison enum.
extension ExpectSpec: Codable {
    private enum CodingKeys: String, CodingKey {
        case reach, reachByPolicy, status, body, servedBy, clientIP, rtt, loss, answers, rcode
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        reach = try container.decode(Bool.self, forKey: .reach)
        reachByPolicy = try container.decodeIfPresent(Bool.self, forKey: .reachByPolicy) ?? false
        status = try container.decodeIfPresent(Int.self, forKey: .status)
        body = try container.decodeIfPresent(String.self, forKey: .body)
        servedBy = try container.decodeIfPresent([String].self, forKey: .servedBy)
        clientIP = try container.decodeIfPresent(String.self, forKey: .clientIP)
        rtt = try Self.bound(.rtt, in: container, parse: MeasurementBound.rtt)
        loss = try Self.bound(.loss, in: container, parse: MeasurementBound.loss)
        answers = try container.decodeIfPresent([String].self, forKey: .answers)
        rcode = try container.decodeIfPresent(DNSProbeRcode.self, forKey: .rcode)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(reach, forKey: .reach)
        if reachByPolicy { try container.encode(true, forKey: .reachByPolicy) }
        try container.encodeIfPresent(status, forKey: .status)
        try container.encodeIfPresent(body, forKey: .body)
        try container.encodeIfPresent(servedBy, forKey: .servedBy)
        try container.encodeIfPresent(clientIP, forKey: .clientIP)
        try container.encodeIfPresent(rtt.map { $0.text(unit: "ms") }, forKey: .rtt)
        try container.encodeIfPresent(loss.map { $0.text(unit: "%") }, forKey: .loss)
        try container.encodeIfPresent(answers, forKey: .answers)
        try container.encodeIfPresent(rcode, forKey: .rcode)
    }

    private static func bound(_ key: CodingKeys, in container: KeyedDecodingContainer<CodingKeys>,
                              parse: (String) -> MeasurementBound?) throws -> MeasurementBound? {
        guard let text = try container.decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let bound = parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "not a bound: \(text)")
        }
        return bound
    }
}
