import Foundation
import Testing

@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct OverlayTests {
    static func vxlanLab(_ name: String) -> String {
        fourNodeLab(name).replacingOccurrences(of: "name: \(name)\n", with: "name: \(name)\ncluster: {network: vxlan}\n")
    }

    @Test func everyPodReachesEveryPodOverVXLAN() throws {
        let name = uniqueLabName("vxlan")
        let before = try rootNamespaceSnapshot()
        try withLab(Self.vxlanLab(name), name: name) { _ in
            let pods = ["a1": "10.244.1.2", "a2": "10.244.1.3", "b1": "10.244.2.2", "c1": "10.244.3.2", "d1": "10.244.4.40"]
            for (source, _) in pods {
                for (target, address) in pods where target != source {
                    #expect(try ping(from: "lab.\(name).pod.\(source)", to: address), "\(source) → \(target)")
                }
            }
            let node = "lab.\(name).node.node-1"
            // flannel's device: VNI 1, UDP 8472, no learning, local = the node IP, MTU 1450.
            let device = try run(["ip", "-n", node, "-d", "link", "show", "flannel.1"]).stdout
            #expect(device.contains("vxlan id 1 local 192.168.1.2 dev eth0"), "\(device)")
            #expect(device.contains("dstport 8472"))
            #expect(device.contains("nolearning"))
            #expect(device.contains("mtu 1450"))
            #expect(try run(["ip", "-n", node, "-4", "addr", "show", "flannel.1"]).stdout.contains("inet 10.244.1.0/32"))
            // One FDB entry, one permanent neighbour and one onlink route per remote node.
            let fdb = try run(["bridge", "-n", node, "fdb", "show", "dev", "flannel.1"]).stdout
            #expect(fdb.split(separator: "\n").filter { $0.contains("dst ") && $0.contains("permanent") }.count == 3, "\(fdb)")
            #expect(fdb.contains("dst 10.10.0.2"), "node-4 on rack-3 is reached across networks")
            let neighbours = try run(["ip", "-n", node, "neigh", "show", "dev", "flannel.1"]).stdout
            #expect(neighbours.split(separator: "\n").filter { $0.contains("PERMANENT") }.count == 3, "\(neighbours)")
            let routes = try run(["ip", "-n", node, "route"]).stdout
            #expect(routes.contains("10.244.4.0/24 via 10.244.4.0 dev flannel.1 onlink"), "\(routes)")
            // The underlay knows no pod address.
            #expect(!(try run(["ip", "-n", "lab.\(name).fabric", "route"]).stdout.contains("10.244.")))
            // MTU: a DF packet that fits (1422 + 28 = 1450) crosses; one byte more is refused at the pod.
            let pod = "lab.\(name).pod.a1"
            #expect(try run(["ip", "netns", "exec", pod, "ping", "-c1", "-W2", "-M", "do", "-s", "1422", "10.244.4.40"]).succeeded)
            let tooBig = try run(["ip", "netns", "exec", pod, "ping", "-c1", "-W2", "-M", "do", "-s", "1423", "10.244.4.40"])
            #expect(!tooBig.succeeded)
            #expect((tooBig.stdout + tooBig.stderr).contains("mtu=1450") || (tooBig.stdout + tooBig.stderr).contains("too long"),
                    "\(tooBig.stdout)\(tooBig.stderr)")
        }
        #expect(try rootNamespaceSnapshot() == before)
    }

    @Test func theFabricCarriesOnlyEncapsulatedPodTraffic() throws {
        let name = uniqueLabName("wire")
        try withLab(Self.vxlanLab(name), name: name) { _ in
            let fabric = "lab.\(name).fabric"
            // Capture on rack-1's bridge while a1 (node-1) pings b1 (node-2, same rack).
            let capture = Process()
            capture.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            capture.arguments = ["timeout", "5", "ip", "netns", "exec", fabric, "tcpdump", "-nli", "br-rack-1", "-c", "6",
                                 "udp port 8472 or net 10.244.0.0/16"]
            let out = Pipe()
            capture.standardOutput = out
            let errors = Pipe()
            capture.standardError = errors
            try capture.run()
            // tcpdump says "listening on" once it is attached; until then the pings would go
            // unseen. Its end of the pipe closing (it failed, or `timeout` ended it) stops the wait.
            var said = ""
            while !said.contains("listening on") {
                let chunk = errors.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                said += String(decoding: chunk, as: UTF8.self)
            }
            try #require(said.contains("listening on"), "tcpdump did not attach: \(said)")
            _ = try run(["ip", "netns", "exec", "lab.\(name).pod.a1", "ping", "-c3", "-i", "0.2", "-W1", "10.244.2.2"])
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            capture.waitUntilExit()
            // One line per captured frame starts with its timestamp; tcpdump prints a VXLAN
            // packet's inner packet on the next line, without one.
            let lines = text.split(separator: "\n").filter { $0.first?.isNumber == true }
            #expect(!lines.isEmpty, "tcpdump saw nothing")
            for line in lines {
                #expect(line.contains("192.168.1.2.") || line.contains("192.168.1.3."), "non-underlay packet: \(line)")
                #expect(line.contains(".8472"), "not VXLAN: \(line)")
            }
        }
    }
}
