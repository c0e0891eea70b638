import LabAddress
@testable import LabKernel
import Testing

/// The bytes of built requests against a layout computed here without libmnl.
@Suite struct NetlinkRequestTests {
    typealias N = ExpectedNetlink

    @Test func addVethCreatesThePeerDirectlyInItsNamespace() {
        let request = NetlinkRequest.addVeth(
            name: "vethab12cd34", mac: MACAddress(bytes: [0x02, 0, 0, 0, 0, 1]), mtu: 1450,
            peerName: "eth0", peerMAC: MACAddress(bytes: [0x02, 0, 0, 0, 0, 2]), peerNamespaceFD: 7)
        // IFLA_ADDRESS 1, IFLA_IFNAME 3, IFLA_MTU 4, IFLA_LINKINFO 18, IFLA_NET_NS_FD 28;
        // IFLA_INFO_KIND 1, IFLA_INFO_DATA 2; VETH_INFO_PEER 1.
        let expected = N.message(
            type: N.newLink, flags: N.request | N.ack | N.create | N.excl,
            body: N.ifinfomsg()
                + N.string(3, "vethab12cd34") + N.attribute(1, [0x02, 0, 0, 0, 0, 1]) + N.u32(4, 1450)
                + N.nest(18,
                         N.string(1, "veth"),
                         N.nest(2,
                                N.nest(1,
                                       N.ifinfomsg(),
                                       N.string(3, "eth0"), N.attribute(1, [0x02, 0, 0, 0, 0, 2]), N.u32(4, 1450),
                                       N.u32(28, 7)))))
        #expect(request.bytes == expected)
        #expect(request.length == expected.count)
    }

    @Test func addBridgeWithoutOptionalAttributes() {
        let request = NetlinkRequest.addBridge(name: "cni0", mtu: nil, mac: nil)
        let expected = N.message(type: N.newLink, flags: N.request | N.ack | N.create | N.excl,
                                 body: N.ifinfomsg() + N.string(3, "cni0") + N.nest(18, N.string(1, "bridge")))
        #expect(request.bytes == expected)
    }

    @Test func addRouteOnlinkSetsTheFlagAndTheOutputLink() {
        let request = NetlinkRequest.addRoute(
            destination: IPv4Network("10.244.2.0/24")!, gateway: IPv4Address("10.244.2.0")!,
            outputIndex: 5, onlink: true)
        // AF_INET 2, table main 254, proto boot 3, scope universe 0, unicast 1, RTNH_F_ONLINK 4;
        // RTA_DST 1, RTA_GATEWAY 5, RTA_OIF 4.
        let expected = N.message(
            type: N.newRoute, flags: N.request | N.ack | N.create | N.excl,
            body: N.rtmsg(family: 2, destinationLength: 24, table: 254, protocol: 3, scope: 0, type: 1, flags: 4)
                + N.attribute(1, [10, 244, 2, 0]) + N.attribute(5, [10, 244, 2, 0]) + N.u32(4, 5))
        #expect(request.bytes == expected)
    }

    @Test func defaultDeviceRouteHasLinkScopeAndNoDestination() {
        let request = NetlinkRequest.addRoute(destination: IPv4Network("0.0.0.0/0")!, gateway: nil, outputIndex: 3, onlink: false)
        let expected = N.message(
            type: N.newRoute, flags: N.request | N.ack | N.create | N.excl,
            body: N.rtmsg(family: 2, destinationLength: 0, table: 254, protocol: 3, scope: 253, type: 1, flags: 0)
                + N.u32(4, 3))
        #expect(request.bytes == expected)
    }

    @Test func addAddressCarriesLocalPeerAndBroadcast() {
        let request = NetlinkRequest.addAddress(linkIndex: 9, address: IPv4Address("10.244.1.5")!, prefixLength: 24)
        // IFA_ADDRESS 1, IFA_LOCAL 2, IFA_BROADCAST 4.
        let expected = N.message(
            type: N.newAddress, flags: N.request | N.ack | N.create | N.excl,
            body: N.ifaddrmsg(family: 2, prefixLength: 24, scope: 0, index: 9)
                + N.attribute(2, [10, 244, 1, 5]) + N.attribute(1, [10, 244, 1, 5]) + N.attribute(4, [10, 244, 1, 255]))
        #expect(request.bytes == expected)
    }

    @Test func aSlash32AddressHasNoBroadcast() {
        let request = NetlinkRequest.addAddress(linkIndex: 4, address: IPv4Address("10.244.1.0")!, prefixLength: 32)
        let expected = N.message(
            type: N.newAddress, flags: N.request | N.ack | N.create | N.excl,
            body: N.ifaddrmsg(family: 2, prefixLength: 32, scope: 0, index: 4)
                + N.attribute(2, [10, 244, 1, 0]) + N.attribute(1, [10, 244, 1, 0]))
        #expect(request.bytes == expected)
    }

    @Test func hairpinIsABridgePortOption() {
        let request = NetlinkRequest.setHairpin(name: "veth0", on: true)
        // IFLA_INFO_SLAVE_KIND 4, IFLA_INFO_SLAVE_DATA 5, IFLA_BRPORT_MODE 4.
        let expected = N.message(
            type: N.newLink, flags: N.request | N.ack,
            body: N.ifinfomsg() + N.string(3, "veth0")
                + N.nest(18, N.string(4, "bridge"), N.nest(5, N.u8(4, 1))))
        #expect(request.bytes == expected)
    }

    /// `ip link set eth0 addrgenmode none`: IFLA_AF_SPEC 26 → AF_INET6 10 →
    /// IFLA_INET6_ADDR_GEN_MODE 8, IN6_ADDR_GEN_MODE_NONE 1.
    @Test func addrGenModeNoneIsAnIPv6LinkSetting() {
        let request = NetlinkRequest.setAddrGenModeNone(name: "eth0")
        let expected = N.message(type: N.newLink, flags: N.request | N.ack,
                                 body: N.ifinfomsg() + N.string(3, "eth0") + N.nest(26, N.nest(10, N.u8(8, 1))))
        #expect(request.bytes == expected)
    }

    @Test func setUpChangesOnlyTheUpFlag() {
        let request = NetlinkRequest.setUp(name: "eth0")
        let expected = N.message(type: N.newLink, flags: N.request | N.ack,
                                 body: N.ifinfomsg(flags: 1, change: 1) + N.string(3, "eth0"))
        #expect(request.bytes == expected)
    }

    /// `ip link set eth0 down`: the flag cleared and said to be changed (with a change mask of 0
    /// the kernel would leave the link up).
    @Test func setDownClearsOnlyTheUpFlag() {
        let request = NetlinkRequest.setDown(name: "eth0")
        let expected = N.message(type: N.newLink, flags: N.request | N.ack,
                                 body: N.ifinfomsg(flags: 0, change: 1) + N.string(3, "eth0"))
        #expect(request.bytes == expected)
    }

    @Test func setMasterNamesTheMasterByIndex() {
        let request = NetlinkRequest.setMaster(name: "veth0", masterIndex: 12)
        let expected = N.message(type: N.newLink, flags: N.request | N.ack,
                                 body: N.ifinfomsg() + N.string(3, "veth0") + N.u32(10, 12))
        #expect(request.bytes == expected)
    }

    @Test func dumpsAskForEverything() {
        #expect(NetlinkRequest.dumpLinks().bytes == N.message(type: N.getLink, flags: N.request | N.dump, body: N.ifinfomsg()))
    }

    @Test func theSequenceNumberIsTheOnlyThingTheSocketFillsIn() {
        let request = NetlinkRequest.setUp(name: "lo")
        request.sequence = 0x01020304
        let expected = N.message(type: N.newLink, flags: N.request | N.ack, sequence: 0x01020304,
                                 body: N.ifinfomsg(flags: 1, change: 1) + N.string(3, "lo"))
        #expect(request.bytes == expected)
    }
}
