import LabAddress
@testable import LabKernel
import Testing

/// Parsing of replies, from messages laid out by hand the way the kernel sends them.
@Suite struct NetlinkReplyTests {
    typealias N = ExpectedNetlink

    @Test func aVethLinkWithItsPeerInAnotherNamespace() throws {
        // IFF_UP 1 | IFF_BROADCAST 2; IFLA_LINK 5, IFLA_MASTER 10, IFLA_LINK_NETNSID 37.
        let bytes = N.message(
            type: N.newLink, flags: 0,
            body: N.ifinfomsg(family: 0, index: 7, flags: 0x3)
                + N.string(3, "vethab12cd34") + N.u32(4, 1450) + N.u32(10, 3) + N.u32(5, 2) + N.u32(37, 0)
                + N.attribute(1, [2, 0, 0, 0, 0, 9])
                + N.nest(18, N.string(1, "veth")))
        let link = try #require(LinkInfo(message: NetlinkMessage(bytes: bytes)))
        #expect(link == LinkInfo(name: "vethab12cd34", index: 7, kind: "veth", masterIndex: 3, mtu: 1450, isUp: true,
                                 mac: [2, 0, 0, 0, 0, 9], linkIndex: 2, linkNamespaceID: 0))
    }

    @Test func aPlainDownLinkHasNoKindMasterOrPeer() throws {
        let bytes = N.message(type: N.newLink, flags: 0,
                              body: N.ifinfomsg(index: 1, flags: 0x8) + N.string(3, "lo") + N.u32(4, 65536))
        let link = try #require(LinkInfo(message: NetlinkMessage(bytes: bytes)))
        #expect(link == LinkInfo(name: "lo", index: 1, mtu: 65536, isUp: false))
    }

    @Test func anAddressPrefersLocalOverPeer() throws {
        let bytes = N.message(type: N.newAddress, flags: 0,
                              body: N.ifaddrmsg(family: 2, prefixLength: 32, scope: 0, index: 4)
                                  + N.attribute(1, [10, 0, 0, 9]) + N.attribute(2, [10, 244, 1, 0]))
        let address = try #require(AddressInfo(message: NetlinkMessage(bytes: bytes)))
        #expect(address == AddressInfo(linkIndex: 4, address: IPv4Address("10.244.1.0")!, prefixLength: 32))
    }

    @Test func anIPv6AddressIsSkipped() {
        let bytes = N.message(type: N.newAddress, flags: 0,
                              body: N.ifaddrmsg(family: 10, prefixLength: 64, scope: 0, index: 4) + N.attribute(1, [UInt8](repeating: 0, count: 16)))
        #expect(AddressInfo(message: NetlinkMessage(bytes: bytes)) == nil)
    }

    @Test func anOnlinkRouteOfTheMainTable() throws {
        let bytes = N.message(type: N.newRoute, flags: 0,
                              body: N.rtmsg(family: 2, destinationLength: 24, table: 254, protocol: 3, scope: 0, type: 1, flags: 4)
                                  + N.u32(15, 254) + N.attribute(1, [10, 244, 2, 0]) + N.attribute(5, [10, 244, 2, 0]) + N.u32(4, 6))
        let route = try #require(RouteInfo(message: NetlinkMessage(bytes: bytes)))
        #expect(route == RouteInfo(destination: IPv4Network("10.244.2.0/24")!, gateway: IPv4Address("10.244.2.0")!,
                                   outputIndex: 6, flags: 4, scope: 0, routeProtocol: 3, type: 1))
        #expect(route.isOnlink)
    }

    @Test func aDefaultRouteHasNoDestinationAttribute() throws {
        let bytes = N.message(type: N.newRoute, flags: 0,
                              body: N.rtmsg(family: 2, destinationLength: 0, table: 254, protocol: 3, scope: 0, type: 1, flags: 0)
                                  + N.attribute(5, [10, 0, 0, 1]) + N.u32(4, 2))
        let route = try #require(RouteInfo(message: NetlinkMessage(bytes: bytes)))
        #expect(route.destination == IPv4Network("0.0.0.0/0")!)
        #expect(route.gateway == IPv4Address("10.0.0.1")!)
        #expect(!route.isOnlink)
    }

    @Test func localTableRoutesAreLeftOut() {
        // The local table (255) holds the kernel's own routes for local and broadcast addresses.
        let bytes = N.message(type: N.newRoute, flags: 0,
                              body: N.rtmsg(family: 2, destinationLength: 32, table: 255, protocol: 2, scope: 254, type: 2, flags: 0)
                                  + N.u32(15, 255) + N.attribute(1, [10, 0, 0, 1]))
        #expect(RouteInfo(message: NetlinkMessage(bytes: bytes)) == nil)
    }

    @Test func aTruncatedAttributeEndsTheWalk() {
        // The second attribute claims 40 bytes where 8 remain.
        let bytes = N.string(3, "lo") + N.le16(40) + N.le16(4) + N.le32(0)
        let attributes = bytes.withUnsafeBytes { NetlinkAttributes(parsing: $0) }
        #expect(attributes.string(3) == "lo")
        #expect(attributes[4] == nil)
    }
}
