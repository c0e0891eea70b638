import LabAddress
import LabSpec

/// kube-proxy's nftables names (`pkg/proxy/nftables/proxier.go`): readable names such as
/// `service-ULMVA6XW-ns1/svc1/tcp/p80`, where the 8 characters are base32(sha256(the rest)).
/// The hash keeps endpoint chains of one service visually distinct and unique after truncation.
public enum NFTablesChainNames {
    public static let table = "kube-proxy"
    /// knftables' `NameLengthMax` minus kube-proxy's longest prefix (`chainNameBaseLengthMax`).
    static let baseLengthMax = 256 - 16

    /// `ns/name/proto/port` with its hash in front (`servicePortChainNameBase`).
    public static func base(_ port: ServicePortName) -> String {
        hashAndTruncate("\(port.namespace)/\(port.name)/\(port.protocol)/\(port.port)")
    }

    /// `ns/name/proto/port__ip/port` with its hash in front (`servicePortEndpointChainNameBase`).
    public static func endpointBase(_ port: ServicePortName, ip: IPv4Address, targetPort: Int) -> String {
        hashAndTruncate("\(port.namespace)/\(port.name)/\(port.protocol)/\(port.port)__\(ip)/\(targetPort)")
    }

    public static func serviceChain(_ port: ServicePortName) -> String { "service-" + base(port) }
    public static func localChain(_ port: ServicePortName) -> String { "local-" + base(port) }
    public static func externalChain(_ port: ServicePortName) -> String { "external-" + base(port) }
    public static func endpointChain(_ port: ServicePortName, ip: IPv4Address, targetPort: Int) -> String {
        "endpoint-" + endpointBase(port, ip: ip, targetPort: targetPort)
    }
    /// The dynamic set remembering which clients were sent to this endpoint (ClientIP affinity).
    public static func affinitySet(_ port: ServicePortName, ip: IPv4Address, targetPort: Int) -> String {
        "affinity-" + endpointBase(port, ip: ip, targetPort: targetPort)
    }

    /// `hashAndTruncate`: base32(sha256(name))[:8] + "-" + name, cut to 240 with "..." (which
    /// valid Kubernetes names never reach, but the rule is kept so the names stay identical).
    static func hashAndTruncate(_ name: String) -> String {
        let full = KubeProxyHash.base32SHA256(name, length: 8) + "-" + name
        guard full.utf8.count > baseLengthMax else { return full }
        return String(decoding: Array(full.utf8.prefix(baseLengthMax - 3)), as: UTF8.self) + "..."
    }
}
