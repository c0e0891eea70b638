import CMnl
import Glibc
import LabAddress

/// IPv4 route requests (`RTM_*ROUTE`), always in the main table.
extension NetlinkRequest {
    /// `ip route add DEST [via GW] [dev DEV] [onlink]`
    ///
    /// Protocol `boot`, like `ip route add`, so `ip route` prints our routes exactly as it
    /// prints hand-made ones. Without a gateway the route is a device route (scope link);
    /// `onlink` tells the kernel the gateway is reachable on `DEV` even though no address of
    /// `DEV` covers it (flannel's VXLAN routes to a remote `/32`).
    static func addRoute(destination: IPv4Network, gateway: IPv4Address?, outputIndex: Int32?, onlink: Bool) -> NetlinkRequest {
        var header = routeHeader(destination)
        header.rtm_protocol = UInt8(RTPROT_BOOT)
        header.rtm_scope = UInt8(gateway == nil ? RT_SCOPE_LINK.rawValue : RT_SCOPE_UNIVERSE.rawValue)
        header.rtm_type = UInt8(RTN_UNICAST)
        header.rtm_flags = onlink ? UInt32(RTNH_F_ONLINK) : 0
        return route(RTM_NEWROUTE, flags: create, header: header, destination: destination, gateway: gateway, outputIndex: outputIndex)
    }

    /// `ip route del DEST [via GW] [dev DEV]`
    ///
    /// Scope `nowhere`, protocol and type unspecified, as `ip route del` sends them: the kernel
    /// then matches on destination, gateway and device only.
    static func deleteRoute(destination: IPv4Network, gateway: IPv4Address?, outputIndex: Int32?) -> NetlinkRequest {
        var header = routeHeader(destination)
        header.rtm_scope = UInt8(RT_SCOPE_NOWHERE.rawValue)
        return route(RTM_DELROUTE, flags: change, header: header, destination: destination, gateway: gateway, outputIndex: outputIndex)
    }

    /// `ip -4 route show table all` (the caller keeps the main table).
    static func dumpRoutes() -> NetlinkRequest {
        var header = rtmsg()
        header.rtm_family = UInt8(AF_INET)
        return dump(RTM_GETROUTE, header: header)
    }

    private static func routeHeader(_ destination: IPv4Network) -> rtmsg {
        var header = rtmsg()
        header.rtm_family = UInt8(AF_INET)
        header.rtm_dst_len = UInt8(destination.prefixLength)
        header.rtm_table = UInt8(RT_TABLE_MAIN.rawValue)
        return header
    }

    /// The header, then what names the route. A default route has no destination attribute,
    /// as `ip route add default` sends it.
    private static func route(_ type: Int, flags: Int32, header: rtmsg, destination: IPv4Network, gateway: IPv4Address?,
                              outputIndex: Int32?) -> NetlinkRequest {
        let request = NetlinkRequest(type: type, flags: flags)
        request.putHeader(header)
        if destination.prefixLength > 0 { request.put(RTA_DST.rawValue, bytes: destination.address.octets) }
        if let gateway { request.put(RTA_GATEWAY.rawValue, bytes: gateway.octets) }
        if let outputIndex { request.put(RTA_OIF.rawValue, u32: UInt32(bitPattern: outputIndex)) }
        return request
    }
}
