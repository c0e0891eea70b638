import CMnl
import Glibc
import LabAddress

/// IPv4 address requests (`RTM_*ADDR`).
extension NetlinkRequest {
    /// `ip addr add ADDRESS/PREFIX [broadcast +] dev LINK`
    ///
    /// `IFA_LOCAL` is the address itself; `IFA_ADDRESS` is the peer address, the same on a
    /// non-point-to-point link; the broadcast address is given explicitly, as `ip` does, because
    /// the kernel does not derive one (none for /31 and /32, which have no broadcast).
    static func addAddress(linkIndex: Int32, address: IPv4Address, prefixLength: Int) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_NEWADDR, flags: create)
        request.putHeader(addressHeader(linkIndex: linkIndex, prefixLength: prefixLength, scope: RT_SCOPE_UNIVERSE))
        request.put(IFA_LOCAL, bytes: address.octets)
        request.put(IFA_ADDRESS, bytes: address.octets)
        if prefixLength < 31 {
            let network = IPv4Network(containing: address, prefixLength: prefixLength)
            request.put(IFA_BROADCAST, bytes: network.broadcast.octets)
        }
        return request
    }

    /// `ip addr del ADDRESS/PREFIX dev LINK`
    static func deleteAddress(linkIndex: Int32, address: IPv4Address, prefixLength: Int) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_DELADDR, flags: change)
        request.putHeader(addressHeader(linkIndex: linkIndex, prefixLength: prefixLength, scope: RT_SCOPE_UNIVERSE))
        request.put(IFA_LOCAL, bytes: address.octets)
        return request
    }

    /// `ip -4 addr show`
    static func dumpAddresses() -> NetlinkRequest {
        dump(RTM_GETADDR, header: addressHeader(linkIndex: 0, prefixLength: 0, scope: RT_SCOPE_UNIVERSE))
    }

    /// A dump request of `type` with its family header.
    static func dump<Header: BitwiseCopyable>(_ type: Int, header: Header) -> NetlinkRequest {
        let request = NetlinkRequest(type: type, flags: dump)
        request.putHeader(header)
        return request
    }

    private static func addressHeader(linkIndex: Int32, prefixLength: Int, scope: rt_scope_t) -> ifaddrmsg {
        var header = ifaddrmsg()
        header.ifa_family = UInt8(AF_INET)
        header.ifa_prefixlen = UInt8(truncatingIfNeeded: prefixLength)
        header.ifa_scope = UInt8(scope.rawValue)
        header.ifa_index = UInt32(bitPattern: linkIndex)
        return header
    }
}
