/// How one try ended. Everything but `reached`, `badAnswer` and `error` is "blocked": what
/// `expect: {reach: false}` accepts, and the report names which one it was.
public enum ProbeOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    /// An answer came: an echo reply, an HTTP response, a connection, a datagram, exit 0.
    case reached
    /// Nothing came back before the try's timeout: a DROP rule, a missing route back, a
    /// listener that never answers.
    case timeout
    /// ECONNREFUSED: a TCP reset to the SYN or an ICMP port unreachable — the host is there,
    /// the port is not (or a REJECT rule says so).
    case refused
    /// EHOSTUNREACH, ENETUNREACH, ENETDOWN, EHOSTDOWN (no route, no neighbour, an ICMP
    /// unreachable) or EPERM (a firewall rule in the source namespace dropped the packet).
    case unreachable
    /// ECONNRESET or EPIPE: the connection was cut after it was made.
    case reset
    /// Something answered, but not in the protocol probed (no HTTP status line, say). The
    /// peer was reached, so this fails both `reach: true` and `reach: false`.
    case badAnswer = "bad-answer"
    /// An exec probe's command exited non-zero (or was killed by a signal).
    case exited
    /// A probe by name whose name did not resolve: the nameserver answered NXDOMAIN, NODATA,
    /// SERVFAIL or REFUSED. The network carried the lookup, so this is no block; like a bad
    /// answer it fails both `reach: true` and `reach: false`.
    case unresolved
    /// The probe could not run at all (no socket, no namespace, no program): says nothing
    /// about the network, so it fails whatever was expected.
    case error

    /// Whether this is one of the ways of not getting through that `reach: false` expects.
    public var isBlocked: Bool {
        switch self {
        case .timeout, .refused, .unreachable, .reset, .exited: true
        case .reached, .badAnswer, .unresolved, .error: false
        }
    }
}
