import CMnl
import Glibc
import LabAddress

/// The requests that take back what the `add` requests made, for `lab up` of a changed lab
/// (reconcile). Each names its object the way its `add` counterpart did, so a reconcile can
/// remove exactly what an earlier plan created.
extension NetlinkRequest {
    /// `ip link del NAME` — for a veth, both ends go.
    static func deleteLink(name: String) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_DELLINK, flags: change)
        request.putHeader(linkHeader())
        request.put(IFLA_IFNAME, string: name)
        return request
    }

    /// `ip link set NAME nomaster` (master index 0).
    static func clearMaster(name: String) -> NetlinkRequest {
        setMaster(name: name, masterIndex: 0)
    }

    /// `ip addr del ADDRESS/PREFIX dev LINK`
    static func deleteAddress(linkIndex: Int32, address: IPv4Address, prefixLength: Int) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_DELADDR, flags: change)
        var header = ifaddrmsg()
        header.ifa_family = UInt8(AF_INET)
        header.ifa_prefixlen = UInt8(truncatingIfNeeded: prefixLength)
        header.ifa_index = UInt32(bitPattern: linkIndex)
        request.putHeader(header)
        request.put(IFA_LOCAL, bytes: address.octets)
        return request
    }

    /// `ip route del DEST [via GW] [dev DEV]`
    ///
    /// Scope `nowhere`, protocol and type unspecified, as `ip route del` sends them: the kernel
    /// then matches on destination, gateway and device only.
    static func deleteRoute(destination: IPv4Network, gateway: IPv4Address?, outputIndex: Int32?) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_DELROUTE, flags: change)
        var header = rtmsg()
        header.rtm_family = UInt8(AF_INET)
        header.rtm_dst_len = UInt8(destination.prefixLength)
        header.rtm_table = UInt8(RT_TABLE_MAIN.rawValue)
        header.rtm_scope = UInt8(RT_SCOPE_NOWHERE.rawValue)
        request.putHeader(header)
        if destination.prefixLength > 0 { request.put(RTA_DST.rawValue, bytes: destination.address.octets) }
        if let gateway { request.put(RTA_GATEWAY.rawValue, bytes: gateway.octets) }
        if let outputIndex { request.put(RTA_OIF.rawValue, u32: UInt32(bitPattern: outputIndex)) }
        return request
    }

    /// `ip neigh del ADDRESS dev LINK`
    static func deleteNeighbor(linkIndex: Int32, address: IPv4Address) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_DELNEIGH, flags: change)
        var header = ndmsg()
        header.ndm_family = UInt8(AF_INET)
        header.ndm_ifindex = linkIndex
        request.putHeader(header)
        request.put(NDA_DST, bytes: address.octets)
        return request
    }

    /// `bridge fdb del MAC dev LINK dst IP self`
    static func deleteForwardingEntry(linkIndex: Int32, mac: MACAddress, destination: IPv4Address) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_DELNEIGH, flags: change)
        var header = ndmsg()
        header.ndm_family = UInt8(AF_BRIDGE)
        header.ndm_ifindex = linkIndex
        header.ndm_flags = UInt8(NTF_SELF)
        request.putHeader(header)
        request.put(NDA_LLADDR, bytes: mac.bytes)
        request.put(NDA_DST, bytes: destination.octets)
        return request
    }
}
