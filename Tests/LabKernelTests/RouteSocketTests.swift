import Foundation
import LabAddress
@testable import LabKernel
import Testing

/// Links, addresses and routes built over netlink and checked with `ip`.
@Suite(.enabled(if: isRoot, "needs root")) struct RouteSocketTests {
    @Test func aBridgeAndAVethWhosePeerIsBornInThePodNamespace() throws {
        try withTestNamespaces("node", "pod") { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let socket = try RouteSocket(in: node)
            try socket.submit(.addBridge(name: "cni0", mtu: 1450, mac: MACAddress(bytes: [0x02, 0x42, 0, 0, 0, 1])))
            try socket.submit(.addVeth(name: "vethtest0001", mac: MACAddress(bytes: [0x02, 0x42, 0, 0, 0, 2]), mtu: 1450,
                               peerName: "eth0", peerMAC: MACAddress(bytes: [0x02, 0x42, 0, 0, 0, 3]), peerNetns: pod))
            try socket.submit(.setMaster(link: "vethtest0001", master: "cni0"))
            try socket.submit(.setHairpin(link: "vethtest0001", on: true))
            try socket.submit(.setUp(link: "cni0"))
            try socket.submit(.setUp(link: "vethtest0001"))

            let peer = try ip(in: pod, "-d", "link", "show", "eth0")
            #expect(peer.contains("link/ether 02:42:00:00:00:03"))
            #expect(peer.contains("mtu 1450"))
            #expect(peer.contains("veth"))
            // Born in the pod namespace: the node side names it as living in another namespace.
            let hostSide = try ip(in: node, "-d", "link", "show", "vethtest0001")
            #expect(hostSide.contains("vethtest0001@if"))
            #expect(hostSide.contains("link-netns \(pod.name)") || hostSide.contains("link-netnsid"))
            #expect(hostSide.contains("master cni0"))
            #expect(hostSide.contains("hairpin on"))
            #expect(hostSide.contains("link/ether 02:42:00:00:00:02"))
            let bridge = try ip(in: node, "-d", "link", "show", "cni0")
            #expect(bridge.contains("bridge forward_delay"))
            #expect(bridge.contains("link/ether 02:42:00:00:00:01"))
            #expect(try ip(in: node, "link").contains("eth0") == false)

            let links = try socket.links()
            let cni0 = try #require(links.first { $0.name == "cni0" })
            let veth = try #require(links.first { $0.name == "vethtest0001" })
            #expect(cni0.kind == "bridge" && cni0.isUp && cni0.mtu == 1450 && cni0.mac == [0x02, 0x42, 0, 0, 0, 1])
            #expect(veth.kind == "veth" && veth.isUp && veth.masterIndex == cni0.index)
            #expect(veth.linkNamespaceID != nil)
            #expect(try socket.linkIndex("cni0") == cni0.index)

            let podLinks = try RouteSocket(in: pod).links()
            let eth0 = try #require(podLinks.first { $0.name == "eth0" })
            #expect(veth.linkIndex == eth0.index)
            #expect(eth0.linkIndex == veth.index)
            #expect(!eth0.isUp)

            try socket.submit(.setHairpin(link: "vethtest0001", on: false))
            #expect(try ip(in: node, "-d", "link", "show", "vethtest0001").contains("hairpin off"))
            try socket.submit(.setMTU(link: "vethtest0001", mtu: 1400))
            #expect(try socket.links().first { $0.name == "vethtest0001" }?.mtu == 1400)
        }
    }

    /// What `lab up` folds into the requests that create links: a bridge or VXLAN device
    /// created up, a veth created up and already a port of its bridge (so hairpin can be set
    /// right after), each with its MTU — one request each, where there were three.
    @Test func linksCreatedUpAndAsPortsNeedNoFurtherRequest() throws {
        try withTestNamespaces("node", "pod") { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let socket = try RouteSocket(in: node)
            let sends = try socket.submit([
                .addBridge(name: "cni0", mtu: 1450, mac: MACAddress(bytes: [0x02, 0x42, 0, 0, 0, 1]), up: true),
                .addVeth(name: "vethtest0005", mac: MACAddress(bytes: [0x02, 0x42, 0, 0, 0, 2]), mtu: 1450, peerName: "eth0",
                         peerMAC: MACAddress(bytes: [0x02, 0x42, 0, 0, 0, 3]), peerNetns: pod, master: "cni0", up: true),
                .setHairpin(link: "vethtest0005", on: true),
                .addVxlan(name: "flannel.1", vni: 1, port: 8472, local: nil, device: nil, mtu: 1450,
                          mac: MACAddress(bytes: [0x02, 0x42, 0, 0, 0, 4]), up: true),
            ])
            #expect(sends == [1, 3], "the bridge alone (the veth looks cni0 up), then the rest in one datagram")
            let hostSide = try ip(in: node, "-d", "link", "show", "vethtest0005")
            #expect(hostSide.contains("master cni0") && hostSide.contains("hairpin on") && hostSide.contains("mtu 1450"))
            #expect(hostSide.contains(",UP"))
            let links = try socket.links()
            let cni0 = try #require(links.first { $0.name == "cni0" })
            #expect(cni0.isUp && cni0.mtu == 1450)
            #expect(try #require(links.first { $0.name == "vethtest0005" }).masterIndex == cni0.index)
            #expect(try #require(links.first { $0.name == "flannel.1" }).isUp)
            // The peer is created down (the kernel cannot bring it up as it creates it).
            let eth0 = try #require(try RouteSocket(in: pod).links().first { $0.name == "eth0" })
            #expect(!eth0.isUp && eth0.mtu == 1450)
        }
    }

    @Test func addressesAndRoutesAsIpShowsThem() throws {
        try withTestNamespaces("node", "pod") { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let nodeSocket = try RouteSocket(in: node)
            try nodeSocket.submit(.addVeth(name: "vethtest0002", mac: nil, mtu: nil, peerName: "eth0", peerMAC: nil, peerNetns: pod))
            // Both ends up, or every route through eth0 is flagged `linkdown`.
            try nodeSocket.submit(.setUp(link: "vethtest0002"))
            let socket = try RouteSocket(in: pod)
            try socket.submit(.setUp(link: "lo"))
            try socket.submit(.setUp(link: "eth0"))
            try socket.submit(.addAddress(link: "eth0", address: IPv4Address("10.244.1.5")!, prefixLength: 24))
            try socket.submit(.addRoute(destination: IPv4Network("0.0.0.0/0")!, gateway: IPv4Address("10.244.1.1")!, device: nil, onlink: false))
            try socket.submit(.addRoute(destination: IPv4Network("10.245.0.0/24")!, gateway: IPv4Address("10.99.0.1")!, device: "eth0", onlink: true))
            try socket.submit(.addRoute(destination: IPv4Network("10.246.0.0/16")!, gateway: nil, device: "eth0", onlink: false))

            #expect(try ip(in: pod, "-4", "addr", "show", "eth0").contains("inet 10.244.1.5/24 brd 10.244.1.255 scope global eth0"))
            let routes = try ip(in: pod, "route").split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(routes.contains("default via 10.244.1.1 dev eth0"))
            #expect(routes.contains("10.245.0.0/24 via 10.99.0.1 dev eth0 onlink"))
            #expect(routes.contains("10.246.0.0/16 dev eth0 scope link"))
            #expect(routes.contains("10.244.1.0/24 dev eth0 proto kernel scope link src 10.244.1.5"))

            let eth0 = try socket.linkIndex("eth0")
            #expect(try socket.addresses().contains(AddressInfo(linkIndex: eth0, address: IPv4Address("10.244.1.5")!, prefixLength: 24)))
            #expect(try socket.addresses().contains { $0.address == IPv4Address("127.0.0.1")! && $0.prefixLength == 8 })
            let parsed = try socket.routes()
            #expect(parsed.contains(RouteInfo(destination: IPv4Network("0.0.0.0/0")!, gateway: IPv4Address("10.244.1.1")!,
                                              outputIndex: eth0, flags: 0, scope: 0, routeProtocol: 3, type: 1)))
            #expect(parsed.contains { $0.destination == IPv4Network("10.245.0.0/24")! && $0.isOnlink && $0.outputIndex == eth0 })
            #expect(parsed.contains { $0.destination == IPv4Network("10.246.0.0/16")! && $0.gateway == nil && $0.scope == 253 })
            // The local table's routes (local and broadcast addresses) are not the main table's.
            #expect(!parsed.contains { $0.destination == IPv4Network("10.244.1.5/32")! })
        }
    }

    @Test func errorsKeepTheirErrno() throws {
        try withTestNamespaces("node", "pod") { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let socket = try RouteSocket(in: node)
            try socket.submit(.addBridge(name: "cni0", mtu: nil, mac: nil))

            let duplicateBridge = #expect(throws: KernelError.self) { try socket.submit(.addBridge(name: "cni0", mtu: nil, mac: nil)) }
            #expect(duplicateBridge?.errno == EEXIST)
            #expect(duplicateBridge?.namespace == node.name)
            #expect(duplicateBridge?.description.hasPrefix(#"add bridge "cni0" in \#(node.name): File exists (EEXIST)"#) == true)

            try socket.submit(.addVeth(name: "vethtest0003", mac: nil, mtu: nil, peerName: "eth0", peerMAC: nil, peerNetns: pod))
            let duplicateVeth = #expect(throws: KernelError.self) {
                try socket.submit(.addVeth(name: "vethtest0003", mac: nil, mtu: nil, peerName: "eth1", peerMAC: nil, peerNetns: pod))
            }
            #expect(duplicateVeth?.errno == EEXIST)
            #expect(duplicateVeth?.description.hasPrefix(
                #"add veth "vethtest0003" (peer "eth1" in \#(pod.name)) in \#(node.name): File exists (EEXIST)"#) == true)
            // A clash of the peer's name in the pod namespace is reported too, and nothing is left.
            let peerClash = #expect(throws: KernelError.self) {
                try socket.submit(.addVeth(name: "vethtest0004", mac: nil, mtu: nil, peerName: "eth0", peerMAC: nil, peerNetns: pod))
            }
            #expect(peerClash?.errno == EEXIST)
            #expect(try !socket.links().contains { $0.name == "vethtest0004" })

            let missing = #expect(throws: KernelError.self) { try socket.linkIndex("nosuchlink") }
            #expect(missing?.errno == ENODEV)
            let missingUp = #expect(throws: KernelError.self) { try socket.submit(.setUp(link: "nosuchlink")) }
            #expect(missingUp?.errno == ENODEV)
            let notAPort = #expect(throws: KernelError.self) { try socket.submit(.setHairpin(link: "vethtest0003", on: true)) }
            #expect(notAPort?.errno == EOPNOTSUPP)

            try socket.submit(.setUp(link: "cni0"))
            try socket.submit(.addAddress(link: "cni0", address: IPv4Address("10.244.1.1")!, prefixLength: 24))
            let duplicateAddress = #expect(throws: KernelError.self) {
                try socket.submit(.addAddress(link: "cni0", address: IPv4Address("10.244.1.1")!, prefixLength: 24))
            }
            #expect(duplicateAddress?.errno == EEXIST)
            let unreachable = #expect(throws: KernelError.self) {
                try socket.submit(.addRoute(destination: IPv4Network("10.245.0.0/24")!, gateway: IPv4Address("10.99.0.1")!, device: nil, onlink: false))
            }
            #expect(unreachable?.errno == ENETUNREACH)
            // The extended ack's text, which errno alone cannot give.
            #expect(unreachable?.kernelMessage == "Nexthop has invalid gateway")
            try socket.submit(.addRoute(destination: IPv4Network("10.245.0.0/24")!, gateway: IPv4Address("10.244.1.9")!, device: nil, onlink: false))
            let duplicateRoute = #expect(throws: KernelError.self) {
                try socket.submit(.addRoute(destination: IPv4Network("10.245.0.0/24")!, gateway: IPv4Address("10.244.1.9")!, device: nil, onlink: false))
            }
            #expect(duplicateRoute?.errno == EEXIST)
        }
    }

    /// Two pods on a node's bridge, as the lab builds them: each reaches the other and the
    /// bridge's gateway address.
    @Test func podsOnABridgePingEachOther() throws {
        try withTestNamespaces("node", "pod1", "pod2") { namespaces in
            let (node, pods) = (namespaces[0], Array(namespaces[1...]))
            let nodeSocket = try RouteSocket(in: node)
            try nodeSocket.submit(.addBridge(name: "cni0", mtu: nil, mac: nil))
            try nodeSocket.submit(.setUp(link: "cni0"))
            try nodeSocket.submit(.addAddress(link: "cni0", address: IPv4Address("10.244.1.1")!, prefixLength: 24))
            for (offset, pod) in pods.enumerated() {
                let hostSide = "vethtest\(offset)"
                try nodeSocket.submit(.addVeth(name: hostSide, mac: nil, mtu: nil, peerName: "eth0", peerMAC: nil, peerNetns: pod))
                try nodeSocket.submit(.setMaster(link: hostSide, master: "cni0"))
                try nodeSocket.submit(.setHairpin(link: hostSide, on: true))
                try nodeSocket.submit(.setUp(link: hostSide))
                let podSocket = try RouteSocket(in: pod)
                try podSocket.submit(.setUp(link: "lo"))
                try podSocket.submit(.setUp(link: "eth0"))
                try podSocket.submit(.addAddress(link: "eth0", address: IPv4Address(10, 244, 1, UInt8(10 + offset)), prefixLength: 24))
                try podSocket.submit(.addRoute(destination: IPv4Network("0.0.0.0/0")!, gateway: IPv4Address("10.244.1.1")!, device: "eth0", onlink: false))
            }
            #expect(try ping(from: pods[0], "10.244.1.11"))
            #expect(try ping(from: pods[1], "10.244.1.10"))
            #expect(try ping(from: pods[0], "10.244.1.1"))
        }
    }

    /// Two namespaces joined by one veth, each end addressed: the smallest working link.
    @Test func aVethPairBetweenTwoNamespacesCarriesTraffic() throws {
        try withTestNamespaces("a", "b") { namespaces in
            let (a, b) = (namespaces[0], namespaces[1])
            let socketA = try RouteSocket(in: a)
            let socketB = try RouteSocket(in: b)
            try socketA.submit(.addVeth(name: "veth-a", mac: nil, mtu: 1400, peerName: "veth-b", peerMAC: nil, peerNetns: b))
            try socketA.submit(.setUp(link: "veth-a"))
            try socketB.submit(.setUp(link: "veth-b"))
            try socketA.submit(.addAddress(link: "veth-a", address: IPv4Address("10.0.0.1")!, prefixLength: 30))
            try socketB.submit(.addAddress(link: "veth-b", address: IPv4Address("10.0.0.2")!, prefixLength: 30))
            #expect(try socketB.links().first { $0.name == "veth-b" }?.mtu == 1400)
            #expect(try ping(from: a, "10.0.0.2"))
            #expect(try ping(from: b, "10.0.0.1"))
        }
    }

    /// One socket used from many threads at once: requests take turns, replies are not mixed up.
    @Test func oneSocketSharedBetweenThreads() throws {
        try withTestNamespaces("node") { namespaces in
            let socket = try RouteSocket(in: namespaces[0])
            let failures = ErrorList()
            DispatchQueue.concurrentPerform(iterations: 16) { index in
                do {
                    try socket.submit(.addBridge(name: "br\(index)", mtu: nil, mac: nil))
                    _ = try socket.links()
                    _ = try socket.linkIndex("br\(index)")
                } catch { failures.add(error) }
            }
            #expect(failures.all.isEmpty)
            #expect(try socket.links().filter { $0.kind == "bridge" }.count == 16)
        }
    }
}

/// Errors gathered from concurrent work.
final class ErrorList: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [any Error] = []
    func add(_ error: any Error) { lock.withLock { errors.append(error) } }
    var all: [any Error] { lock.withLock { errors } }
}
