import CMnl
import Glibc

/// One network interface as the kernel reports it (`ip -d link show`).
public struct LinkInfo: Sendable, Hashable {
    public var name: String
    public var index: Int32
    /// `IFLA_INFO_KIND`: `bridge`, `veth`, `vxlan`, …; nil for a plain device such as `lo`.
    public var kind: String?
    /// The index of the bridge (or other master) this link is a port of.
    public var masterIndex: Int32?
    public var mtu: Int
    /// Administratively up (`IFF_UP`); says nothing about carrier.
    public var isUp: Bool
    /// The hardware address; empty when the link has none.
    public var mac: [UInt8] = []
    /// `IFLA_LINK`: for a veth, the index of its peer. That index is in the peer's namespace,
    /// which is another one exactly when `linkNamespaceID` is set.
    public var linkIndex: Int32?
    /// `IFLA_LINK_NETNSID`: the id, local to this namespace, of the namespace `linkIndex` is in.
    public var linkNamespaceID: Int32?
}

extension LinkInfo {
    /// Reads an `RTM_NEWLINK` message; nil for anything else or one without a name.
    init?(message: NetlinkMessage) {
        guard Int(message.type) == RTM_NEWLINK, let header = message.header(as: ifinfomsg.self) else { return nil }
        let attributes = message.attributes(afterHeaderOfSize: MemoryLayout<ifinfomsg>.size)
        guard let name = attributes.string(IFLA_IFNAME) else { return nil }
        self.init(
            name: name,
            index: header.ifi_index,
            kind: attributes.nested(IFLA_LINKINFO)?.string(IFLA_INFO_KIND),
            masterIndex: attributes.int32(IFLA_MASTER),
            mtu: Int(attributes.u32(IFLA_MTU) ?? 0),
            isUp: header.ifi_flags & UInt32(IFF_UP.rawValue) != 0,
            mac: attributes[IFLA_ADDRESS] ?? [],
            linkIndex: attributes.int32(IFLA_LINK),
            linkNamespaceID: attributes.int32(IFLA_LINK_NETNSID)
        )
    }
}
