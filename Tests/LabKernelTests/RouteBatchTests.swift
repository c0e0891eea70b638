import Foundation
import Glibc
import LabAddress
@testable import LabKernel
import Testing

/// Batched changes against the kernel: they build what one request at a time builds, and a
/// failure in the middle of a batch names its own request.
@Suite(.enabled(if: isRoot, "needs root")) struct RouteBatchTests {
    /// A node with `cni0` and two pods wired the CNI way, by `build`, seen through `ip`
    /// (interface indexes dropped: they differ between two builds).
    static func wiredNode(_ build: (_ node: NetworkNamespace, _ pods: [NetworkNamespace]) throws -> Void) throws -> [String] {
        try withTestNamespaces("node", "pod1", "pod2") { namespaces in
            try build(namespaces[0], Array(namespaces[1...]))
            var view: [String] = []
            for (index, namespace) in namespaces.enumerated() {
                // Links: what a plan decides (bridge timers and ids change by the second).
                // Only `N: …` lines: `ip` also writes "Peer netns reference is invalid." when
                // another test deletes a namespace while it maps peer namespaces.
                for line in try run(["ip", "-n", namespace.name, "-d", "-o", "link", "show"]).output.split(separator: "\n")
                where line.first?.isNumber == true {
                    let words = line.split(separator: " ").map(String.init)
                    var summary = "\(index): \(words.count > 1 ? words[1].replacingOccurrences(of: #"@if\d+"#, with: "@peer", options: .regularExpression) : "")"
                    // What was set: the administrative UP flag. The operational state (UNKNOWN,
                    // then UP) and a port's STP state (disabled, then forwarding) follow carrier
                    // events the kernel handles after the request returns.
                    let flags = words.count > 2 ? words[2] : ""
                    summary += flags.contains(",UP") || flags.contains("<UP") ? " up" : " down"
                    for (position, word) in words.enumerated()
                    where ["mtu", "master", "link/ether", "hairpin", "veth", "bridge"].contains(word) && position + 1 < words.count {
                        summary += " \(word) \(words[position + 1])"
                    }
                    view.append(summary)
                }
                for arguments in [["-4", "-o", "addr", "show"], ["route", "show"]] {
                    view += try run(["ip", "-n", namespace.name] + arguments).output.split(separator: "\n").map {
                        "\(index): " + String($0).replacingOccurrences(of: #"^\d+: "#, with: "", options: .regularExpression)
                            .replacingOccurrences(of: #"\s+valid_lft.*$"#, with: "", options: .regularExpression)
                    }
                }
            }
            return view
        }
    }

    static let podMAC = MACAddress(bytes: [0x02, 0x42, 0, 0, 0, 0x10])

    @Test func aBatchBuildsWhatOneRequestAtATimeBuilds() throws {
        let one = try Self.wiredNode { node, pods in
            let socket = try RouteSocket(in: node)
            try socket.submit(.addBridge(name: "cni0", mtu: 1450, mac: MACAddress(bytes: [0x02, 0x42, 0, 0, 0, 1])))
            try socket.submit(.addAddress(link: "cni0", address: IPv4Address("10.244.1.1")!, prefixLength: 24))
            try socket.submit(.setUp(link: "cni0"))
            for (number, pod) in pods.enumerated() {
                let veth = "vethbatch\(number)"
                try socket.submit(.addVeth(name: veth, mac: MACAddress(bytes: [0x02, 0x42, 0, 0, 1, UInt8(number)]), mtu: 1450, peerName: "eth0", peerMAC: Self.podMAC, peerNetns: pod))
                try socket.submit(.setMaster(link: veth, master: "cni0"))
                try socket.submit(.setHairpin(link: veth, on: true))
                try socket.submit(.setUp(link: veth))
                let podSocket = try RouteSocket(in: pod)
                try podSocket.submit(.setUp(link: "lo"))
                try podSocket.submit(.addAddress(link: "eth0", address: IPv4Address("10.244.1.\(number + 2)")!, prefixLength: 24))
                try podSocket.submit(.setUp(link: "eth0"))
                try podSocket.submit(.addRoute(destination: IPv4Network("0.0.0.0/0")!, gateway: IPv4Address("10.244.1.1")!,
                                       device: "eth0", onlink: false))
            }
        }
        let batched = try Self.wiredNode { node, pods in
            var changes: [RouteChange] = [
                .addBridge(name: "cni0", mtu: 1450, mac: MACAddress(bytes: [0x02, 0x42, 0, 0, 0, 1])),
                // Looks cni0 up: the queued bridge is sent first.
                .addAddress(link: "cni0", address: IPv4Address("10.244.1.1")!, prefixLength: 24),
                .setUp(link: "cni0"),
            ]
            for (number, pod) in pods.enumerated() {
                let veth = "vethbatch\(number)"
                changes += [
                    .addVeth(name: veth, mac: MACAddress(bytes: [0x02, 0x42, 0, 0, 1, UInt8(number)]), mtu: 1450, peerName: "eth0",
                             peerMAC: Self.podMAC, peerNetns: pod),
                    .setMaster(link: veth, master: "cni0"),
                    .setHairpin(link: veth, on: true),
                    .setUp(link: veth),
                ]
            }
            // The pods address the peers the node's changes create: those are sent first.
            let sends = try RouteSocket(in: node).submit(changes)
            #expect(sends == [1, 10], "cni0's address and up and both pods' node side, in one datagram")
            for (number, pod) in pods.enumerated() {
                let podSends = try RouteSocket(in: pod).submit([
                    .setUp(link: "lo"),
                    .addAddress(link: "eth0", address: IPv4Address("10.244.1.\(number + 2)")!, prefixLength: 24),
                    .setUp(link: "eth0"),
                    .addRoute(destination: IPv4Network("0.0.0.0/0")!, gateway: IPv4Address("10.244.1.1")!, device: "eth0", onlink: false),
                ])
                #expect(podSends.reduce(0, +) == 4)
            }
        }
        #expect(one.count > 10)
        #expect(batched == one)
    }

    @Test func aFailureInTheMiddleOfABatchNamesItsRequestAndTheRestIsStillApplied() throws {
        try withTestNamespaces("node") { namespaces in
            let node = namespaces[0]
            let socket = try RouteSocket(in: node)
            let changes: [RouteChange] = [
                .addBridge(name: "br-first", mtu: nil, mac: nil),
                .setUp(link: "no-such-link"),
                .addBridge(name: "br-first", mtu: nil, mac: nil),
                .addBridge(name: "br-last", mtu: nil, mac: nil),
            ]
            #expect(changes.allSatisfy { $0.links.isEmpty }, "no lookup splits them: one datagram of 4")
            do {
                try socket.submit(changes)
                Issue.record("a batch with a missing link succeeded")
            } catch let error as KernelError {
                // The earliest failure, not the EEXIST of the second br-first after it.
                #expect(error.operation == "set link up")
                #expect(error.object == "\"no-such-link\"")
                #expect(error.namespace == node.name)
                #expect(error.errno == ENODEV)
            }
            // The kernel went on after the failure, as netlink does.
            let links = try ip(in: node, "-o", "link", "show")
            #expect(links.contains("br-first") && links.contains("br-last"))
            // The socket is in step afterwards: the next exchange reads its own answer.
            #expect(try socket.submit([.setUp(link: "br-last")]) == [1])
            #expect(try RouteSocket(in: node).links().first { $0.name == "br-last" }?.isUp == true)
        }
    }

    @Test func aFailedLastRequestIsReportedToo() throws {
        try withTestNamespaces("node") { namespaces in
            let socket = try RouteSocket(in: namespaces[0])
            let changes: [RouteChange] = [.addBridge(name: "br-a", mtu: nil, mac: nil), .addBridge(name: "br-a", mtu: nil, mac: nil)]
            #expect(throws: KernelError(operation: "add bridge", object: "\"br-a\"", namespace: namespaces[0].name, errno: EEXIST,
                                        kernelMessage: nil)) {
                do { try socket.submit(changes) } catch var error as KernelError {
                    error.kernelMessage = nil  // the kernel's words vary between versions
                    throw error
                }
            }
        }
    }

    @Test func aFullBatchIsSentOnItsOwn() throws {
        try withTestNamespaces("node") { namespaces in
            let changes: [RouteChange] = [.addBridge(name: "br-many", mtu: nil, mac: nil)]
                + Array(repeating: .setUp(link: "br-many"), count: 150)
            let sends = try RouteSocket(in: namespaces[0]).submit(changes)
            #expect(sends.count == 2 && sends.reduce(0, +) == 151 && sends[1] < 64)
            #expect(try ip(in: namespaces[0], "link", "show", "br-many").contains("UP"))
        }
    }
}
