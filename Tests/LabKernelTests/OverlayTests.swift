import Foundation
import LabAddress
import LabKernel
import Testing

/// The kernel has VXLAN (built in, or a module that is loaded or can be).
let hasVxlan = FileManager.default.fileExists(atPath: "/sys/module/vxlan")
    || (try? String(contentsOfFile: "/lib/modules/\(kernelRelease())/modules.builtin", encoding: .utf8))?.contains("vxlan.ko") == true
    || FileManager.default.fileExists(atPath: "/lib/modules/\(kernelRelease())/kernel/drivers/net/vxlan")

private func kernelRelease() -> String {
    var name = utsname()
    uname(&name)
    return withUnsafeBytes(of: name.release) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
}

/// flannel's VXLAN layout between two nodes on one underlay link, checked with `ip`, `bridge`
/// and a ping that can only succeed through the tunnel.
@Suite(.enabled(if: isRoot, "needs root"), .enabled(if: hasVxlan, "needs the vxlan driver"))
struct OverlayTests {
    struct Node {
        var namespace: NetworkNamespace
        var underlay: IPv4Address
        var podCIDR: IPv4Network
        var vxlanMAC: MACAddress
    }

    @Test func twoNodesReachEachOtherThroughVxlan() throws {
        try withTestNamespaces("node1", "node2") { namespaces in
            let nodes = [
                Node(namespace: namespaces[0], underlay: IPv4Address("192.168.50.2")!, podCIDR: IPv4Network("10.244.1.0/24")!,
                     vxlanMAC: MACAddress(bytes: [0x02, 0x42, 0x0a, 0xf4, 0x01, 0x00])),
                Node(namespace: namespaces[1], underlay: IPv4Address("192.168.50.3")!, podCIDR: IPv4Network("10.244.2.0/24")!,
                     vxlanMAC: MACAddress(bytes: [0x02, 0x42, 0x0a, 0xf4, 0x02, 0x00])),
            ]
            let sockets = try nodes.map { try RouteSocket(in: $0.namespace) }
            try sockets[0].submit(.addVeth(name: "eth0", mac: nil, mtu: 1500, peerName: "eth0", peerMAC: nil, peerNetns: nodes[1].namespace))
            for (node, socket) in zip(nodes, sockets) {
                try socket.submit(.setUp(link: "eth0"))
                try socket.submit(.addAddress(link: "eth0", address: node.underlay, prefixLength: 24))
                try socket.submit(.addVxlan(name: "flannel.1", vni: 1, port: 8472, local: node.underlay, device: "eth0",
                                    mtu: 1450, mac: node.vxlanMAC))
                try socket.submit(.addAddress(link: "flannel.1", address: node.podCIDR.address, prefixLength: 32))
                try socket.submit(.setUp(link: "flannel.1"))
            }
            for (index, socket) in sockets.enumerated() {
                let remote = nodes[1 - index]
                try socket.submit(.addRoute(destination: remote.podCIDR, gateway: remote.podCIDR.address, device: "flannel.1", onlink: true))
                try socket.submit(.addNeighbor(link: "flannel.1", address: remote.podCIDR.address, mac: remote.vxlanMAC, permanent: true))
                try socket.submit(.addFDB(link: "flannel.1", mac: remote.vxlanMAC, destination: remote.underlay))
            }
            // Replacing a neighbour is not an error (re-applying a lab).
            try sockets[0].submit(.addNeighbor(link: "flannel.1", address: nodes[1].podCIDR.address, mac: nodes[1].vxlanMAC, permanent: true))

            let device = try ip(in: nodes[0].namespace, "-d", "link", "show", "flannel.1")
            #expect(device.contains("vxlan id 1 local 192.168.50.2 dev eth0"))
            #expect(device.contains("dstport 8472"))
            #expect(device.contains("nolearning"))
            #expect(device.contains("mtu 1450"))
            #expect(try sockets[0].links().first { $0.name == "flannel.1" }?.kind == "vxlan")
            let neighbours = try ip(in: nodes[0].namespace, "neigh", "show", "dev", "flannel.1")
            #expect(neighbours.contains("10.244.2.0 lladdr 02:42:0a:f4:02:00 PERMANENT"))
            let fdb = try run("bridge", "-n", nodes[0].namespace.name, "fdb", "show", "dev", "flannel.1").output
            #expect(fdb.contains("02:42:0a:f4:02:00 dst 192.168.50.3 self permanent"))
            let routes = try ip(in: nodes[0].namespace, "route")
            #expect(routes.contains("10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink"))

            #expect(try ping(from: nodes[0].namespace, "10.244.2.0"))
            #expect(try ping(from: nodes[1].namespace, "10.244.1.0"))
        }
    }
}
