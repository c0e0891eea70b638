import CMnl
import Glibc
import LabAddress

/// Link requests (`RTM_*LINK`). Existing links are named by `IFLA_IFNAME` with `ifi_index` 0,
/// which the kernel resolves itself, so a change costs one round trip and no index lookup.
extension NetlinkRequest {
    /// `ip link show NAME`
    static func getLink(name: String) -> NetlinkRequest {
        namedLink(RTM_GETLINK, name: name)
    }

    /// `ip link show`
    static func dumpLinks() -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_GETLINK, flags: dump)
        request.putHeader(linkHeader())
        return request
    }

    /// `ip link add NAME [address MAC] [mtu N] [master M] [up] type bridge`
    static func addBridge(name: String, mtu: Int?, mac: MACAddress?, up: Bool = false) -> NetlinkRequest {
        newLink(LinkSettings(name: name, mac: mac, mtu: mtu, up: up), kind: "bridge")
    }

    /// `ip link add NAME [address MAC] [mtu N] [master M] [up] type veth peer name PEER [address PMAC] [mtu N] netns PEERNS`
    ///
    /// The peer is created directly in the namespace `peerNamespaceFD` refers to
    /// (`IFLA_NET_NS_FD` inside `VETH_INFO_PEER`): moving a link afterwards costs ~20 ms each.
    /// `VETH_INFO_PEER` carries its own `ifinfomsg` before its attributes. The kernel refuses
    /// `IFF_UP` there (ENOTCONN: the peer is brought up before it knows its other end), so
    /// only `NAME` can be created up.
    static func addVeth(name: String, mac: MACAddress?, mtu: Int?, peerName: String, peerMAC: MACAddress?,
                        peerNamespaceFD: Int32, masterIndex: Int32? = nil, up: Bool = false) -> NetlinkRequest {
        let link = LinkSettings(name: name, mac: mac, mtu: mtu, masterIndex: masterIndex, up: up)
        return newLink(link, kind: "veth") { request in
            request.nest(VETH_INFO_PEER) {
                request.putHeader(linkHeader())
                request.putLinkBasics(LinkSettings(name: peerName, mac: peerMAC, mtu: mtu))
                request.put(IFLA_NET_NS_FD, u32: UInt32(bitPattern: peerNamespaceFD))
            }
        }
    }

    /// `ip link set NAME master MASTER` (the master by index, which is all the kernel accepts;
    /// 0 is `nomaster`).
    static func setMaster(name: String, masterIndex: Int32) -> NetlinkRequest {
        namedLink(RTM_NEWLINK, name: name) { $0.put(IFLA_MASTER, u32: UInt32(bitPattern: masterIndex)) }
    }

    /// `ip link set NAME up`
    static func setUp(name: String) -> NetlinkRequest {
        namedLink(RTM_NEWLINK, name: name, header: linkHeader(up: true))
    }

    /// `ip link set NAME down`: `IFF_UP` cleared, and said to be changed (a change mask of 0
    /// would leave the flags alone).
    static func setDown(name: String) -> NetlinkRequest {
        var header = linkHeader(up: false)
        header.ifi_change = UInt32(IFF_UP.rawValue)
        return namedLink(RTM_NEWLINK, name: name, header: header)
    }

    /// `ip link set NAME mtu N`
    static func setMTU(name: String, mtu: Int) -> NetlinkRequest {
        namedLink(RTM_NEWLINK, name: name) { $0.put(IFLA_MTU, u32: UInt32(truncatingIfNeeded: mtu)) }
    }

    /// `ip link set NAME type bridge_slave hairpin on|off`
    ///
    /// Hairpin lets a bridge send a frame back out of the port it came in on — what a pod
    /// reaching itself through a service address needs. Set through the bridge's port options
    /// (`IFLA_INFO_SLAVE_KIND "bridge"` + `IFLA_BRPORT_MODE`), which only works once the link is
    /// a port of a bridge.
    static func setHairpin(name: String, on: Bool) -> NetlinkRequest {
        namedLink(RTM_NEWLINK, name: name) { request in
            request.nest(IFLA_LINKINFO) {
                request.put(IFLA_INFO_SLAVE_KIND, string: "bridge")
                request.nest(IFLA_INFO_SLAVE_DATA) {
                    request.put(IFLA_BRPORT_MODE, u8: on ? 1 : 0)
                }
            }
        }
    }

    /// `ip link set NAME addrgenmode none`: the link gets no IPv6 link-local address when it
    /// comes up, so it sends no duplicate address detection, router solicitation or MLD report.
    /// The mode sits in the link's IPv6 settings (`IFLA_AF_SPEC` → `AF_INET6` →
    /// `IFLA_INET6_ADDR_GEN_MODE`), which exist only once the link does: the kernel refuses
    /// them in the request that creates it (EAFNOSUPPORT), so this is a request of its own,
    /// sent before the one that brings the link up.
    static func setAddrGenModeNone(name: String) -> NetlinkRequest {
        namedLink(RTM_NEWLINK, name: name) { request in
            request.nest(IFLA_AF_SPEC) {
                request.nest(AF_INET6) {
                    request.put(IFLA_INET6_ADDR_GEN_MODE, u8: UInt8(IN6_ADDR_GEN_MODE_NONE.rawValue))
                }
            }
        }
    }

    /// `ip link del NAME` — for a veth, both ends go.
    static func deleteLink(name: String) -> NetlinkRequest {
        namedLink(RTM_DELLINK, name: name)
    }

    /// A request about an existing link, named: header, `IFLA_IFNAME`, then what `body` adds.
    private static func namedLink(_ type: Int, name: String, header: ifinfomsg = linkHeader(),
                                  _ body: (NetlinkRequest) -> Void = { _ in }) -> NetlinkRequest {
        let request = NetlinkRequest(type: type, flags: change)
        request.putHeader(header)
        request.put(IFLA_IFNAME, string: name)
        body(request)
        return request
    }

    /// `RTM_NEWLINK` that creates a link of `kind`: its settings, then `IFLA_LINKINFO` with the
    /// kind and, when `data` adds any, the kind's own attributes in `IFLA_INFO_DATA`.
    static func newLink(_ link: LinkSettings, kind: String, data: ((NetlinkRequest) -> Void)? = nil) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_NEWLINK, flags: create)
        request.putHeader(linkHeader(up: link.up))
        request.putLinkBasics(link)
        request.nest(IFLA_LINKINFO) {
            request.put(IFLA_INFO_KIND, string: kind)
            if let data { request.nest(IFLA_INFO_DATA) { data(request) } }
        }
        return request
    }

    /// The `ifinfomsg` of a link request: family unspecified, the link named by attribute;
    /// `up` sets `IFF_UP` (and says it is being changed).
    static func linkHeader(up: Bool = false) -> ifinfomsg {
        var header = ifinfomsg()
        header.ifi_family = UInt8(AF_UNSPEC)
        header.ifi_flags = up ? UInt32(IFF_UP.rawValue) : 0
        header.ifi_change = up ? UInt32(IFF_UP.rawValue) : 0
        return header
    }

    /// `IFLA_IFNAME`, then `IFLA_ADDRESS`, `IFLA_MTU` and `IFLA_MASTER` when given — the order
    /// iproute2 uses.
    func putLinkBasics(_ link: LinkSettings) {
        put(IFLA_IFNAME, string: link.name)
        if let mac = link.mac { put(IFLA_ADDRESS, bytes: mac.bytes) }
        if let mtu = link.mtu { put(IFLA_MTU, u32: UInt32(truncatingIfNeeded: mtu)) }
        if let masterIndex = link.masterIndex { put(IFLA_MASTER, u32: UInt32(bitPattern: masterIndex)) }
    }
}

/// What a created link is given in the request that creates it.
struct LinkSettings {
    var name: String
    var mac: MACAddress?
    var mtu: Int?
    var masterIndex: Int32? = nil
    var up = false
}
