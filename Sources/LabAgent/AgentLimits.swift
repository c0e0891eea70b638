/// Bounds that keep a misbehaving or malicious client from pinning the agent's memory or
/// descriptors. One process serves every pod of a lab, so one stuck client must not be able to
/// starve the others.
public struct AgentLimits: Sendable {
    /// A request line plus headers larger than this is answered 414 or 431 and the connection
    /// closed. Probes send a few hundred bytes; 16 KiB is what many servers allow.
    public var maxRequestHeadBytes: Int
    /// How long an HTTP client has to send a whole request head (and then read the answer); it
    /// is not extended by partial data, so a client trickling a byte at a time is cut off too.
    /// For TCP echo it is the idle time since the last byte either way.
    public var idleTimeout: Duration
    /// Open connections across all listeners; a connection beyond this is accepted and closed
    /// at once, so the kernel's accept queue never backs up behind a flood.
    public var maxConnections: Int

    public init(maxRequestHeadBytes: Int = 16 * 1024, idleTimeout: Duration = .seconds(10),
                maxConnections: Int = 10_000) {
        self.maxRequestHeadBytes = maxRequestHeadBytes
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }
}
