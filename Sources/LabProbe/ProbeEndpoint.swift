import LabAddress
import LabSpec

/// Where a probe goes, resolved: the address and port its socket connects to. A service has
/// already become its ClusterIP (or a node IP and the nodePort) by the time a probe runs.
public struct ProbeEndpoint: Sendable, Hashable, Codable, CustomStringConvertible {
    public var address: IPv4Address
    /// 0 for ping, which has no port.
    public var port: Int

    public init(address: IPv4Address, port: Int = 0) {
        self.address = address
        self.port = port
    }

    /// `10.0.0.5:8080`, or just `10.0.0.5` without a port.
    public var description: String { port == 0 ? address.description : "\(address):\(port)" }
}
