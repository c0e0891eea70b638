import Glibc

/// A kernel call that failed, with the errno the kernel gave, so callers can ask
/// "was it EEXIST?" instead of matching message text.
///
/// The description reads like a sentence an operator can act on:
/// `add veth "vethab12cd34" (peer "eth0" in lab.demo.pod.web-1) in lab.demo.node.node-1: File exists (EEXIST)`.
public struct KernelError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was attempted, as a short verb phrase: `add veth`, `create namespace`, `write sysctl`.
    public var operation: String
    /// What it was attempted on, exactly as it should appear in the message (names are quoted
    /// by the caller, because some objects are more than a name, e.g. a veth with its peer).
    public var object: String
    /// The network namespace the operation ran in; nil for operations on the host itself
    /// (creating or deleting a namespace's bind mount).
    public var namespace: String?
    /// The positive errno value.
    public var errno: Int32
    /// The kernel's own explanation from the netlink extended ack (`NLMSGERR_ATTR_MSG`), when it
    /// gave one: it often says which attribute was wrong, which errno alone cannot.
    public var kernelMessage: String?

    public init(operation: String, object: String, namespace: String? = nil, errno: Int32, kernelMessage: String? = nil) {
        self.operation = operation
        self.object = object
        self.namespace = namespace
        self.errno = errno
        self.kernelMessage = kernelMessage
    }

    /// The symbolic name, e.g. `EEXIST`; `errno 134` for one outside the table.
    public var errnoName: String { ErrnoName.name(of: errno) }

    public var description: String {
        var text = object.isEmpty ? operation : "\(operation) \(object)"
        if let namespace { text += " in \(namespace)" }
        text += ": \(ErrnoName.message(of: errno)) (\(errnoName))"
        if let kernelMessage, !kernelMessage.isEmpty { text += "; kernel says: \(kernelMessage)" }
        return text
    }
}

/// Captures the calling thread's errno right after a failed call, before anything else can
/// overwrite it.
@inline(__always)
func currentErrno() -> Int32 { Glibc.errno }

/// Names in messages are quoted so an empty or odd name is still visible.
func quoted(_ name: String) -> String { "\"\(name)\"" }
