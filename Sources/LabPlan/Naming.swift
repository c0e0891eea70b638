import LabAddress

/// Every name `lab` gives a kernel object. Pure and deterministic: the same lab file always
/// yields the same names, and every interface name fits IFNAMSIZ (15 bytes plus the NUL).
public enum Naming {
    /// The kernel's limit on interface names (IFNAMSIZ - 1).
    public static let maxInterfaceNameLength = 15

    /// Prefix shared by every namespace of a lab: `lab.<lab>.` — the dot after the lab name
    /// keeps `demo` from matching `demo-2`'s namespaces.
    public static func namespacePrefix(lab: String) -> String { "lab.\(lab)." }

    public static func fabricNetns(lab: String) -> String { "lab.\(lab).fabric" }
    public static func nodeNetns(lab: String, node: String) -> String { "lab.\(lab).node.\(node)" }
    public static func podNetns(lab: String, pod: String) -> String { "lab.\(lab).pod.\(pod)" }
    public static func hostNetns(lab: String, host: String) -> String { "lab.\(lab).host.\(host)" }

    /// Inside nodes and pods the names are the ones a Kubernetes node has.
    public static let uplink = "eth0"
    public static let podBridge = "cni0"
    public static let podInterface = "eth0"
    /// flannel's VXLAN device for VNI 1, under the name the article's readers will meet.
    public static let vxlanDevice = "flannel.1"

    /// A readable name `<prefix><name>` when it fits (what a learner wants to see in
    /// `ip -n lab.demo.fabric link`), else `<prefix><8 hex>` from a stable hash of (lab, kind, name).
    public static func readableOrHashed(prefix: String, lab: String, kind: String, name: String, salt: Int = 0) -> String {
        let readable = prefix + name
        if salt == 0, readable.utf8.count <= maxInterfaceNameLength { return readable }
        return prefix + StableHash.hex8([lab, kind, name] + (salt == 0 ? [] : [String(salt)]))
    }

    /// The fabric's bridge for an underlay network: `br-rack-1`.
    public static func networkBridge(lab: String, network: String, salt: Int = 0) -> String {
        readableOrHashed(prefix: "br-", lab: lab, kind: "network", name: network, salt: salt)
    }

    /// The fabric side of a node's `eth0`: `n-node-1`.
    public static func nodePort(lab: String, node: String, salt: Int = 0) -> String {
        readableOrHashed(prefix: "n-", lab: lab, kind: "node", name: node, salt: salt)
    }

    /// The fabric side of an external host's `eth0`: `h-laptop`.
    public static func hostPort(lab: String, host: String, salt: Int = 0) -> String {
        readableOrHashed(prefix: "h-", lab: lab, kind: "host", name: host, salt: salt)
    }

    /// The node side of a pod's `eth0`, shaped like the CNI bridge plugin's `veth%08x`.
    public static func podVeth(lab: String, pod: String, salt: Int = 0) -> String {
        "veth" + StableHash.hex8([lab, "pod", pod] + (salt == 0 ? [] : [String(salt)]))
    }

    public static func mac(lab: String, object: String, interface: String) -> MACAddress {
        MACAddress.derived(from: [lab, object, interface])
    }
}
