import LabSpec

/// What a probe must observe, resolved: `clientIP` is an address (a pod name has become its
/// IP) and the bounds are parsed. The default expects an answer and nothing more.
public struct ProbeExpectation: Sendable, Hashable {
    /// false: the probe must get no answer (timeout, refusal, unreachable, reset).
    public var reach: Bool
    /// The HTTP status every try must get.
    public var status: Int?
    /// A substring every HTTP body must contain.
    public var body: String?
    /// Over all tries, exactly these pods answered (each at least once, no other).
    public var servedBy: [String]?
    /// The source address the server must have seen, e.g. `10.0.0.5`.
    public var clientIP: String?
    /// A bound on the mean round-trip time of every echo answered, in milliseconds.
    public var rtt: MeasurementBound?
    /// A bound on the share of echoes lost over all tries, in percent.
    public var loss: MeasurementBound?

    public init(reach: Bool = true, status: Int? = nil, body: String? = nil, servedBy: [String]? = nil,
                clientIP: String? = nil, rtt: MeasurementBound? = nil, loss: MeasurementBound? = nil) {
        self.reach = reach
        self.status = status
        self.body = body
        self.servedBy = servedBy
        self.clientIP = clientIP
        self.rtt = rtt
        self.loss = loss
    }

    /// The expectation of a decoded probe. `clientIP` is the address `expect.clientIP`
    /// resolves to (the lab file may name a pod).
    public init(_ spec: ExpectSpec, clientIP: String?) {
        self.init(reach: spec.reach, status: spec.status, body: spec.body, servedBy: spec.servedBy,
                  clientIP: clientIP, rtt: spec.rtt, loss: spec.loss)
    }
}

/// Bounds are written as a lab file writes them (`"<5ms"`, `"0%"`), so the JSON report says
/// what the user wrote rather than a comparison enum.
extension ProbeExpectation: Codable {
    private enum CodingKeys: String, CodingKey {
        case reach, status, body, servedBy, clientIP, rtt, loss
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        reach = try container.decode(Bool.self, forKey: .reach)
        status = try container.decodeIfPresent(Int.self, forKey: .status)
        body = try container.decodeIfPresent(String.self, forKey: .body)
        servedBy = try container.decodeIfPresent([String].self, forKey: .servedBy)
        clientIP = try container.decodeIfPresent(String.self, forKey: .clientIP)
        rtt = try Self.bound(.rtt, in: container, parse: MeasurementBound.rtt)
        loss = try Self.bound(.loss, in: container, parse: MeasurementBound.loss)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(reach, forKey: .reach)
        try container.encodeIfPresent(status, forKey: .status)
        try container.encodeIfPresent(body, forKey: .body)
        try container.encodeIfPresent(servedBy, forKey: .servedBy)
        try container.encodeIfPresent(clientIP, forKey: .clientIP)
        try container.encodeIfPresent(rtt.map { $0.text(unit: "ms") }, forKey: .rtt)
        try container.encodeIfPresent(loss.map { $0.text(unit: "%") }, forKey: .loss)
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
