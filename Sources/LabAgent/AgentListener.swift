import LabKernel

/// One agent port of one pod: what the supervisor opens for each port of an `agent` container.
///
/// The namespace is where the socket is created, not where the server runs: a socket stays in
/// the network namespace of the thread that created it, so one process in the root namespace
/// can serve every pod of a lab (docs/architecture.md, "Containers and the supervisor").
public struct AgentListener: Sendable, CustomStringConvertible {
    /// The pod name: the answer to `/hostname`, the TCP greeting, the first word of a UDP reply.
    public var pod: String
    public var `protocol`: AgentProtocol
    /// 0 lets the kernel choose; `AgentServer.boundPorts` then says which port it chose.
    public var port: Int
    /// The pod's network namespace; nil opens the socket in the caller's own namespace, which
    /// is what tests on 127.0.0.1 use.
    public var netns: NetworkNamespace?
    /// A numeric IPv4 or IPv6 address. An IPv6 socket is IPv6-only, so `0.0.0.0` and `::` on
    /// the same port are two independent listeners instead of a silent clash.
    public var address: String

    public init(pod: String, protocol: AgentProtocol, port: Int,
                namespace: NetworkNamespace? = nil, address: String = "0.0.0.0") {
        self.pod = pod
        self.protocol = `protocol`
        self.port = port
        self.netns = namespace
        self.address = address
    }

    /// `http 0.0.0.0:8080 of pod "web-1"`, as errors and logs name it.
    public var description: String {
        let host = address.contains(":") ? "[\(address)]" : address
        return "\(`protocol`) \(host):\(port) of pod \"\(pod)\""
    }
}
