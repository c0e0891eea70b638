/// What a pod's agent port speaks, after agnhost netexec's `--http-port`, `--tcp-port`
/// and `--udp-port`: probes written against these answers also work against a real cluster.
public enum AgentProtocol: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `/`, `/hostname`, `/clientip`, `/echo?msg=`, `/healthz` over HTTP/1.1.
    case http
    /// The pod name and a newline on connect, then every byte sent is echoed back.
    case tcp
    /// Each datagram is answered with `<pod> <client ip:port>`.
    case udp

    public var description: String { rawValue }
}
