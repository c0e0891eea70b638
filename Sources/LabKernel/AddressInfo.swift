import CMnl
import Glibc
import LabAddress

/// One IPv4 address on a link (`ip -4 addr show`).
public struct AddressInfo: Sendable, Hashable {
    public var linkIndex: Int32
    public var address: IPv4Address
    public var prefixLength: Int

    /// The network the address is in, e.g. `10.244.1.0/24` for `10.244.1.1/24`.
    public var network: IPv4Network { IPv4Network(containing: address, prefixLength: prefixLength) }
}

extension AddressInfo {
    /// Reads an `RTM_NEWADDR` message for IPv4; nil for anything else.
    /// `IFA_LOCAL` is the address itself; `IFA_ADDRESS` is used only when there is no
    /// `IFA_LOCAL` (on a point-to-point link `IFA_ADDRESS` is the peer's).
    init?(message: NetlinkMessage) {
        guard Int(message.type) == RTM_NEWADDR, let header = message.header(as: ifaddrmsg.self),
              Int32(header.ifa_family) == AF_INET else { return nil }
        let attributes = message.attributes(afterHeaderOfSize: MemoryLayout<ifaddrmsg>.size)
        guard let octets = attributes.ipv4(IFA_LOCAL) ?? attributes.ipv4(IFA_ADDRESS) else { return nil }
        self.init(linkIndex: Int32(bitPattern: header.ifa_index),
                  address: IPv4Address(octets[0], octets[1], octets[2], octets[3]),
                  prefixLength: Int(header.ifa_prefixlen))
    }
}
