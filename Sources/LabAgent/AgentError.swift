import LabKernel

/// An agent port that could not be opened, naming the pod, protocol and port and keeping the
/// errno, so the supervisor can say "pod web-1 cannot serve http on 8080: address in use"
/// and callers can ask "was it EADDRINUSE?".
public struct AgentError: Error, Sendable, Hashable, CustomStringConvertible {
    public var pod: String
    public var `protocol`: AgentProtocol
    /// The port as requested (0 when the kernel was to choose).
    public var port: Int
    public var address: String
    /// The name of the network namespace the socket was opened in; nil for the caller's own.
    public var netns: String?
    /// The step that failed: `parse address`, `enter namespace`, `socket`, `bind`, `listen`, ….
    public var operation: String
    /// The positive errno value.
    public var errno: Int32

    public init(listener: AgentListener, operation: String, errno: Int32) {
        pod = listener.pod
        `protocol` = listener.protocol
        port = listener.port
        address = listener.address
        netns = listener.netns?.name
        self.operation = operation
        self.errno = errno
    }

    /// The errno as the kernel error layer spells it, e.g. `EADDRINUSE`.
    public var errnoName: String { asKernelError.errnoName }

    /// `bind http 0.0.0.0:8080 of pod "web-1" in lab.demo.pod.web-1: Address already in use (EADDRINUSE)`.
    public var description: String { asKernelError.description }

    private var asKernelError: KernelError {
        let listener = AgentListener(pod: pod, protocol: `protocol`, port: port, address: address)
        return KernelError(operation: operation, object: listener.description, namespace: netns, errno: errno)
    }
}
