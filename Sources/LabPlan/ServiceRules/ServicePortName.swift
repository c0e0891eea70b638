/// A service port the way kube-proxy identifies it (`proxy.ServicePortName` plus its protocol):
/// every chain name and every rule comment of that port is derived from this value, so it is
/// the one place where `lab`'s spelling has to match Kubernetes' byte for byte.
public struct ServicePortName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var namespace: String
    public var name: String
    /// The port's name; empty for an unnamed port (Kubernetes allows that when a service has one port).
    public var port: String
    /// Lowercase, as kube-proxy hashes and prints it: `tcp`, `udp` or `sctp`.
    public var `protocol`: String

    public init(namespace: String, name: String, port: String, protocol: String) {
        self.namespace = namespace
        self.name = name
        self.port = port
        self.protocol = `protocol`.lowercased()
    }

    /// `ns/name:port`, or `ns/name` for an unnamed port (`ServicePortName.String()`, whose
    /// `fmtPortName` drops the colon with the name). Used in every comment kube-proxy writes.
    public var description: String { port.isEmpty ? "\(namespace)/\(name)" : "\(namespace)/\(name):\(port)" }

    /// kube-proxy walks a Go map, so its own order is random; `lab` sorts by the printed name so
    /// that the same lab always renders the same bytes.
    public static func < (lhs: ServicePortName, rhs: ServicePortName) -> Bool {
        (lhs.description, lhs.protocol) < (rhs.description, rhs.protocol)
    }
}
