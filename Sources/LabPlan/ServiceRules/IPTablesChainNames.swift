/// kube-proxy's iptables chain names (`pkg/proxy/iptables/proxier.go`): a prefix and the first
/// 16 characters of base32(sha256(...)). Hashing keeps names within iptables' 28-character
/// limit; copying the exact recipe makes `iptables-save` in a lab node show the names a real
/// node would show for the same service.
public enum IPTablesChainNames {
    /// iptables' limit on chain names (XT_EXTENSION_MAXNAMELEN - 1).
    public static let maxLength = 28

    public static let services = "KUBE-SERVICES"
    public static let externalServices = "KUBE-EXTERNAL-SERVICES"
    public static let nodePorts = "KUBE-NODEPORTS"
    public static let postrouting = "KUBE-POSTROUTING"
    public static let markMasquerade = "KUBE-MARK-MASQ"
    public static let forward = "KUBE-FORWARD"
    public static let proxyFirewall = "KUBE-PROXY-FIREWALL"
    /// kubelet's chain, which kube-proxy also fills when NodePorts answer on localhost.
    public static let kubeletFirewall = "KUBE-FIREWALL"

    /// `portProtoHash`: base32(sha256("ns/name:portname" + protocol))[:16].
    public static func servicePortChainHash(namespace: String, name: String, portName: String, protocol: String) -> String {
        hash(ServicePortName(namespace: namespace, name: name, port: portName, protocol: `protocol`))
    }

    static func hash(_ port: ServicePortName) -> String {
        first16(port.description + port.protocol)
    }

    /// `KUBE-SVC-…`: all endpoints (the "Cluster" traffic policy).
    public static func serviceChain(_ port: ServicePortName) -> String { "KUBE-SVC-" + hash(port) }
    /// `KUBE-SVL-…`: this node's endpoints only (a "Local" traffic policy).
    public static func localChain(_ port: ServicePortName) -> String { "KUBE-SVL-" + hash(port) }
    /// `KUBE-EXT-…`: where NodePort traffic enters before the policy chain.
    public static func externalChain(_ port: ServicePortName) -> String { "KUBE-EXT-" + hash(port) }
    /// `KUBE-FW-…`: loadBalancerSourceRanges (not used by `lab`, named for completeness).
    public static func firewallChain(_ port: ServicePortName) -> String { "KUBE-FW-" + hash(port) }

    /// `KUBE-SEP-…` = base32(sha256("ns/name:portname" + protocol + "ip:port"))[:16]
    /// (`servicePortEndpointChainName`, fed `BaseEndpointInfo.String()`).
    public static func endpointChain(_ port: ServicePortName, endpoint: String) -> String {
        "KUBE-SEP-" + first16(port.description + port.protocol + endpoint)
    }

    private static func first16(_ text: String) -> String {
        KubeProxyHash.base32SHA256(text, length: 16)
    }
}
