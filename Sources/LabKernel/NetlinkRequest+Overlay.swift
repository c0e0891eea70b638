import CMnl
import Glibc
import LabAddress

/// The requests of flannel's VXLAN layout: the VXLAN device, and the permanent neighbour and
/// forwarding entries that replace learning.
extension NetlinkRequest {
    /// `ip link add NAME [address MAC] [mtu N] type vxlan id VNI [local IP] [dev DEV] dstport PORT [no]learning`
    ///
    /// `IFLA_VXLAN_PORT` is in network byte order, unlike every other integer here.
    static func addVxlan(name: String, vni: UInt32, port: UInt16, local: IPv4Address?, deviceIndex: Int32?,
                         learning: Bool, mtu: Int?, mac: MACAddress?) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_NEWLINK, flags: create)
        request.putHeader(linkHeader())
        request.putLinkBasics(name: name, mac: mac, mtu: mtu)
        request.nest(IFLA_LINKINFO) {
            request.put(IFLA_INFO_KIND, string: "vxlan")
            request.nest(IFLA_INFO_DATA) {
                request.put(IFLA_VXLAN_ID, u32: vni)
                if let local { request.put(IFLA_VXLAN_LOCAL, bytes: local.octets) }
                if let deviceIndex { request.put(IFLA_VXLAN_LINK, u32: UInt32(bitPattern: deviceIndex)) }
                request.put(IFLA_VXLAN_PORT, bytes: [UInt8(port >> 8), UInt8(port & 0xff)])
                request.put(IFLA_VXLAN_LEARNING, u8: learning ? 1 : 0)
            }
        }
        return request
    }

    /// `ip neigh replace ADDRESS lladdr MAC dev LINK nud permanent|reachable`
    ///
    /// Replace, not add: re-applying a lab must not fail on an entry it made itself. Permanent
    /// entries are also exempt from the neighbour table limit (`gc_thresh3`) that all
    /// namespaces share.
    static func replaceNeighbor(linkIndex: Int32, address: IPv4Address, mac: MACAddress, permanent: Bool) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_NEWNEIGH, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE)
        var header = ndmsg()
        header.ndm_family = UInt8(AF_INET)
        header.ndm_ifindex = linkIndex
        header.ndm_state = UInt16(permanent ? NUD_PERMANENT : NUD_REACHABLE)
        request.putHeader(header)
        request.put(NDA_DST, bytes: address.octets)
        request.put(NDA_LLADDR, bytes: mac.bytes)
        return request
    }

    /// `bridge fdb append MAC dev LINK dst IP self permanent`
    ///
    /// An entry of the VXLAN device's own forwarding table (`NTF_SELF`, family `AF_BRIDGE`):
    /// frames for `MAC` are sent, encapsulated, to the node at `IP`. Append, so one MAC may
    /// have several destinations, as `bridge fdb append` allows.
    static func appendForwardingEntry(linkIndex: Int32, mac: MACAddress, destination: IPv4Address) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_NEWNEIGH, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND)
        var header = ndmsg()
        header.ndm_family = UInt8(AF_BRIDGE)
        header.ndm_ifindex = linkIndex
        header.ndm_state = UInt16(NUD_PERMANENT)
        header.ndm_flags = UInt8(NTF_SELF)
        request.putHeader(header)
        request.put(NDA_LLADDR, bytes: mac.bytes)
        request.put(NDA_DST, bytes: destination.octets)
        return request
    }
}
