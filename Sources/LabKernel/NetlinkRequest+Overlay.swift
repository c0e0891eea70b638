import CMnl
import Glibc
import LabAddress

/// The requests of flannel's VXLAN layout: the VXLAN device, and the permanent neighbour and
/// forwarding entries that replace learning.
extension NetlinkRequest {
    /// `ip link add NAME [address MAC] [mtu N] [up] type vxlan id VNI [local IP] [dev DEV] dstport PORT [no]learning`
    ///
    /// `IFLA_VXLAN_PORT` is in network byte order, unlike every other integer here.
    static func addVxlan(name: String, vni: UInt32, port: UInt16, local: IPv4Address?, deviceIndex: Int32?,
                         learning: Bool, mtu: Int?, mac: MACAddress?, up: Bool = false) -> NetlinkRequest {
        newLink(LinkSettings(name: name, mac: mac, mtu: mtu, up: up), kind: "vxlan") { request in
            request.put(IFLA_VXLAN_ID, u32: vni)
            if let local { request.put(IFLA_VXLAN_LOCAL, bytes: local.octets) }
            if let deviceIndex { request.put(IFLA_VXLAN_LINK, u32: UInt32(bitPattern: deviceIndex)) }
            request.put(IFLA_VXLAN_PORT, bytes: [UInt8(port >> 8), UInt8(port & 0xff)])
            request.put(IFLA_VXLAN_LEARNING, u8: learning ? 1 : 0)
        }
    }

    /// `ip neigh replace ADDRESS lladdr MAC dev LINK nud permanent|reachable`
    ///
    /// Replace, not add: re-applying a lab must not fail on an entry it made itself. Permanent
    /// entries are also exempt from the neighbour table limit (`gc_thresh3`) that all
    /// namespaces share.
    static func replaceNeighbor(linkIndex: Int32, address: IPv4Address, mac: MACAddress, permanent: Bool) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_NEWNEIGH, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE)
        request.putHeader(neighbourHeader(AF_INET, linkIndex: linkIndex, state: permanent ? NUD_PERMANENT : NUD_REACHABLE))
        request.put(NDA_DST, bytes: address.octets)
        request.put(NDA_LLADDR, bytes: mac.bytes)
        return request
    }

    /// `ip neigh del ADDRESS dev LINK`
    static func deleteNeighbor(linkIndex: Int32, address: IPv4Address) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_DELNEIGH, flags: change)
        request.putHeader(neighbourHeader(AF_INET, linkIndex: linkIndex, state: 0))
        request.put(NDA_DST, bytes: address.octets)
        return request
    }

    /// `bridge fdb append MAC dev LINK dst IP self permanent`
    ///
    /// An entry of the VXLAN device's own forwarding table (`NTF_SELF`, family `AF_BRIDGE`):
    /// frames for `MAC` are sent, encapsulated, to the node at `IP`. Append, so one MAC may
    /// have several destinations, as `bridge fdb append` allows.
    static func appendForwardingEntry(linkIndex: Int32, mac: MACAddress, destination: IPv4Address) -> NetlinkRequest {
        forwardingEntry(RTM_NEWNEIGH, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND, state: NUD_PERMANENT,
                        linkIndex: linkIndex, mac: mac, destination: destination)
    }

    /// `bridge fdb del MAC dev LINK dst IP self`
    static func deleteForwardingEntry(linkIndex: Int32, mac: MACAddress, destination: IPv4Address) -> NetlinkRequest {
        forwardingEntry(RTM_DELNEIGH, flags: change, state: 0, linkIndex: linkIndex, mac: mac, destination: destination)
    }

    private static func forwardingEntry(_ type: Int, flags: Int32, state: Int32, linkIndex: Int32, mac: MACAddress,
                                        destination: IPv4Address) -> NetlinkRequest {
        let request = NetlinkRequest(type: type, flags: flags)
        var header = neighbourHeader(AF_BRIDGE, linkIndex: linkIndex, state: state)
        header.ndm_flags = UInt8(NTF_SELF)
        request.putHeader(header)
        request.put(NDA_LLADDR, bytes: mac.bytes)
        request.put(NDA_DST, bytes: destination.octets)
        return request
    }

    private static func neighbourHeader(_ family: Int32, linkIndex: Int32, state: Int32) -> ndmsg {
        var header = ndmsg()
        header.ndm_family = UInt8(family)
        header.ndm_ifindex = linkIndex
        header.ndm_state = UInt16(state)
        return header
    }
}
