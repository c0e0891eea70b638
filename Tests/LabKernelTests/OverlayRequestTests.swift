import LabAddress
@testable import LabKernel
import Testing

/// The bytes of flannel-layout requests: VXLAN device, neighbour, forwarding entry.
@Suite struct OverlayRequestTests {
    typealias N = ExpectedNetlink

    @Test func vxlanLikeFlannel() {
        let request = NetlinkRequest.addVxlan(name: "flannel.1", vni: 1, port: 8472, local: IPv4Address("192.168.50.2")!,
                                              deviceIndex: 2, learning: false, mtu: 1450, mac: nil)
        // IFLA_VXLAN_ID 1, _LOCAL 4, _LINK 3, _PORT 15 (big-endian 8472 = 0x2118), _LEARNING 7.
        let expected = N.message(
            type: N.newLink, flags: N.request | N.ack | N.create | N.excl,
            body: N.ifinfomsg() + N.string(3, "flannel.1") + N.u32(4, 1450)
                + N.nest(18,
                         N.string(1, "vxlan"),
                         N.nest(2,
                                N.u32(1, 1), N.attribute(4, [192, 168, 50, 2]), N.u32(3, 2),
                                N.attribute(15, [0x21, 0x18]), N.u8(7, 0))))
        #expect(request.bytes == expected)
    }

    @Test func permanentNeighbourIsAReplace() {
        let request = NetlinkRequest.replaceNeighbor(linkIndex: 5, address: IPv4Address("10.244.2.0")!,
                                                     mac: MACAddress(bytes: [0x02, 0, 0, 0, 0, 2]), permanent: true)
        // AF_INET 2, NUD_PERMANENT 0x80; NDA_DST 1, NDA_LLADDR 2.
        let expected = N.message(
            type: N.newNeighbor, flags: N.request | N.ack | N.create | N.replace,
            body: N.ndmsg(family: 2, index: 5, state: 0x80, flags: 0)
                + N.attribute(1, [10, 244, 2, 0]) + N.attribute(2, [0x02, 0, 0, 0, 0, 2]))
        #expect(request.bytes == expected)
    }

    @Test func forwardingEntryIsTheDevicesOwnAndAppended() {
        let request = NetlinkRequest.appendForwardingEntry(linkIndex: 5, mac: MACAddress(bytes: [0x02, 0, 0, 0, 0, 2]),
                                                           destination: IPv4Address("192.168.50.3")!)
        // AF_BRIDGE 7, NUD_PERMANENT 0x80, NTF_SELF 0x02.
        let expected = N.message(
            type: N.newNeighbor, flags: N.request | N.ack | N.create | N.append,
            body: N.ndmsg(family: 7, index: 5, state: 0x80, flags: 0x02)
                + N.attribute(2, [0x02, 0, 0, 0, 0, 2]) + N.attribute(1, [192, 168, 50, 3]))
        #expect(request.bytes == expected)
    }
}
