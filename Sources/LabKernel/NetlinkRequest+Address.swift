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
        var header = ifaddrmsg()
        header.ifa_family = UInt8(AF_INET)
        header.ifa_prefixlen = UInt8(truncatingIfNeeded: prefixLength)
        header.ifa_scope = UInt8(RT_SCOPE_UNIVERSE.rawValue)
        header.ifa_index = UInt32(bitPattern: linkIndex)
        request.putHeader(header)
        request.put(IFA_LOCAL, bytes: address.octets)
        request.put(IFA_ADDRESS, bytes: address.octets)
        if prefixLength < 31 {
            let network = IPv4Network(containing: address, prefixLength: prefixLength)
            request.put(IFA_BROADCAST, bytes: network.broadcast.octets)
        }
        return request
    }

    /// `ip -4 addr show`
    static func dumpAddresses() -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_GETADDR, flags: dump)
        var header = ifaddrmsg()
        header.ifa_family = UInt8(AF_INET)
        request.putHeader(header)
        return request
    }
}
