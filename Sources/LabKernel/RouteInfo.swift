import CMnl
import Glibc
import LabAddress

/// One IPv4 route of the main table (`ip route show`).
public struct RouteInfo: Sendable, Hashable {
    /// `0.0.0.0/0` for the default route.
    public var destination: IPv4Network
    public var gateway: IPv4Address?
    /// `RTA_OIF`, the output link's index.
    public var outputIndex: Int32?
    /// `rtm_flags` (`RTNH_F_ONLINK`, `RTNH_F_LINKDOWN`, …).
    public var flags: UInt32 = 0
    /// `rtm_scope`: 0 universe, 253 link, 254 host.
    public var scope: UInt8 = 0
    /// `rtm_protocol`: 2 kernel (made by adding an address), 3 boot (`ip route add`), 4 static.
    public var routeProtocol: UInt8 = 3
    /// `rtm_type`: 1 unicast, 2 local, 3 broadcast, 6 blackhole, …
    public var type: UInt8 = 1

    /// Whether the route was added with `onlink`.
    public var isOnlink: Bool { flags & UInt32(RTNH_F_ONLINK) != 0 }
}

extension RouteInfo {
    /// Reads an `RTM_NEWROUTE` message of the IPv4 main table; nil for anything else.
    /// The table is `RTA_TABLE` when present (tables above 255 exist only there), else `rtm_table`.
    init?(message: NetlinkMessage) {
        guard Int(message.type) == RTM_NEWROUTE, let header = message.header(as: rtmsg.self),
              Int32(header.rtm_family) == AF_INET else { return nil }
        let attributes = message.attributes(afterHeaderOfSize: MemoryLayout<rtmsg>.size)
        let table = attributes.u32(RTA_TABLE.rawValue) ?? UInt32(header.rtm_table)
        guard table == RT_TABLE_MAIN.rawValue, header.rtm_dst_len <= 32 else { return nil }
        let destination = attributes.ipv4(RTA_DST.rawValue).map(Self.address) ?? IPv4Address(0)
        self.init(destination: IPv4Network(containing: destination, prefixLength: Int(header.rtm_dst_len)),
                  gateway: attributes.ipv4(RTA_GATEWAY.rawValue).map(Self.address),
                  outputIndex: attributes.int32(RTA_OIF.rawValue),
                  flags: header.rtm_flags,
                  scope: header.rtm_scope,
                  routeProtocol: header.rtm_protocol,
                  type: header.rtm_type)
    }

    private static func address(_ octets: [UInt8]) -> IPv4Address {
        IPv4Address(octets[0], octets[1], octets[2], octets[3])
    }
}
