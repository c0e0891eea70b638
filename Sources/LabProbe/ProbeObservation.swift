/// What one try saw. Plain data: expectations are evaluated on it without a socket, and the
/// JSON report carries it whole. Fields a kind does not observe stay nil.
public struct ProbeObservation: Sendable, Hashable, Codable {
    public var outcome: ProbeOutcome
    /// The symbolic errno behind a blocked or failed outcome: `ECONNREFUSED`, `EHOSTUNREACH`.
    public var errno: String?
    /// Words for a human where the outcome alone is not enough: why an answer was malformed,
    /// which step of an exec failed, that EPERM came from a firewall rule.
    public var detail: String?
    /// From the start of the try (socket open) to its end.
    public var elapsedMilliseconds: Double

    // http
    public var status: Int?
    public var body: String?
    /// tcp: the first line the server sent; udp: the answer datagram.
    public var answer: String?
    // ping
    public var echoesSent: Int?
    /// One round-trip time per echo answered, in the order they were sent.
    public var rttMilliseconds: [Double]?
    // exec
    public var exitStatus: Int32?
    /// stdout and stderr together, as a terminal would show them (truncated).
    public var output: String?
    // dns, and probes by name: what the pod's resolver asked and was told.
    public var lookup: LookupObservation?

    /// Echo replies received (ping only).
    public var echoesReceived: Int? { rttMilliseconds?.count ?? echoesSent.map { _ in 0 } }
}
