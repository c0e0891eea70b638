import CMnl
import Glibc
import LabAddress

/// Link requests (`RTM_*LINK`). Existing links are named by `IFLA_IFNAME` with `ifi_index` 0,
/// which the kernel resolves itself, so a change costs one round trip and no index lookup.
extension NetlinkRequest {
    /// `ip link show NAME`
    static func getLink(name: String) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_GETLINK, flags: change)
        request.putHeader(linkHeader())
        request.put(IFLA_IFNAME, string: name)
        return request
    }

    /// `ip link show`
    static func dumpLinks() -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_GETLINK, flags: dump)
        request.putHeader(linkHeader())
        return request
    }

    /// `ip link add NAME [address MAC] [mtu N] type bridge`
    static func addBridge(name: String, mtu: Int?, mac: MACAddress?) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_NEWLINK, flags: create)
        request.putHeader(linkHeader())
        request.putLinkBasics(name: name, mac: mac, mtu: mtu)
        request.nest(IFLA_LINKINFO) {
            request.put(IFLA_INFO_KIND, string: "bridge")
        }
        return request
    }

    /// `ip link add NAME [address MAC] [mtu N] type veth peer name PEER [address PMAC] [mtu N] netns PEERNS`
    ///
    /// The peer is created directly in the namespace `peerNamespaceFD` refers to
    /// (`IFLA_NET_NS_FD` inside `VETH_INFO_PEER`): moving a link afterwards costs ~20 ms each.
    /// `VETH_INFO_PEER` carries its own `ifinfomsg` before its attributes.
    static func addVeth(name: String, mac: MACAddress?, mtu: Int?, peerName: String, peerMAC: MACAddress?, peerNamespaceFD: Int32) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_NEWLINK, flags: create)
        request.putHeader(linkHeader())
        request.putLinkBasics(name: name, mac: mac, mtu: mtu)
        request.nest(IFLA_LINKINFO) {
            request.put(IFLA_INFO_KIND, string: "veth")
            request.nest(IFLA_INFO_DATA) {
                request.nest(VETH_INFO_PEER) {
                    request.putHeader(linkHeader())
                    request.putLinkBasics(name: peerName, mac: peerMAC, mtu: mtu)
                    request.put(IFLA_NET_NS_FD, u32: UInt32(bitPattern: peerNamespaceFD))
                }
            }
        }
        return request
    }

    /// `ip link set NAME master MASTER` (the master by index, which is all the kernel accepts).
    static func setMaster(name: String, masterIndex: Int32) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_NEWLINK, flags: change)
        request.putHeader(linkHeader())
        request.put(IFLA_IFNAME, string: name)
        request.put(IFLA_MASTER, u32: UInt32(bitPattern: masterIndex))
        return request
    }

    /// `ip link set NAME up`
    static func setUp(name: String) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_NEWLINK, flags: change)
        request.putHeader(linkHeader(flags: UInt32(IFF_UP.rawValue), change: UInt32(IFF_UP.rawValue)))
        request.put(IFLA_IFNAME, string: name)
        return request
    }

    /// `ip link set NAME mtu N`
    static func setMTU(name: String, mtu: Int) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_NEWLINK, flags: change)
        request.putHeader(linkHeader())
        request.put(IFLA_IFNAME, string: name)
        request.put(IFLA_MTU, u32: UInt32(truncatingIfNeeded: mtu))
        return request
    }

    /// `ip link set NAME type bridge_slave hairpin on|off`
    ///
    /// Hairpin lets a bridge send a frame back out of the port it came in on — what a pod
    /// reaching itself through a service address needs. Set through the bridge's port options
    /// (`IFLA_INFO_SLAVE_KIND "bridge"` + `IFLA_BRPORT_MODE`), which only works once the link is
    /// a port of a bridge.
    static func setHairpin(name: String, on: Bool) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_NEWLINK, flags: change)
        request.putHeader(linkHeader())
        request.put(IFLA_IFNAME, string: name)
        request.nest(IFLA_LINKINFO) {
            request.put(IFLA_INFO_SLAVE_KIND, string: "bridge")
            request.nest(IFLA_INFO_SLAVE_DATA) {
                request.put(IFLA_BRPORT_MODE, u8: on ? 1 : 0)
            }
        }
        return request
    }

    /// The `ifinfomsg` of a link request: family unspecified, the link named by attribute.
    static func linkHeader(flags: UInt32 = 0, change: UInt32 = 0) -> ifinfomsg {
        var header = ifinfomsg()
        header.ifi_family = UInt8(AF_UNSPEC)
        header.ifi_flags = flags
        header.ifi_change = change
        return header
    }

    /// `IFLA_IFNAME`, then `IFLA_ADDRESS` and `IFLA_MTU` when given — the order iproute2 uses.
    func putLinkBasics(name: String, mac: MACAddress?, mtu: Int?) {
        put(IFLA_IFNAME, string: name)
        if let mac { put(IFLA_ADDRESS, bytes: mac.bytes) }
        if let mtu { put(IFLA_MTU, u32: UInt32(truncatingIfNeeded: mtu)) }
    }
}
