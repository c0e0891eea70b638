import Foundation
import Testing

/// A lab with three networks and four nodes, as the foundation issue's "done when" asks.
func fourNodeLab(_ name: String) -> String {
    """
    name: \(name)
    networks:
      - {name: rack-1, cidr: 192.168.1.0/24}
      - {name: rack-2, cidr: 172.16.0.0/16}
      - {name: rack-3, cidr: 10.10.0.0/24}
    nodes:
      - {name: node-1, network: rack-1}
      - {name: node-2, network: rack-1}
      - {name: node-3, network: rack-2}
      - {name: node-4, network: rack-3}
    pods:
      - {name: a1, node: node-1}
      - {name: a2, node: node-1}
      - {name: b1, node: node-2}
      - {name: c1, node: node-3}
      - {name: d1, node: node-4, ip: 10.244.4.40}
    hosts:
      - {name: laptop, network: rack-2}
    """
}

@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct LabLifecycleTests {
    @Test func everyPodReachesEveryPodAcrossNodesAndNetworks() throws {
        let name = uniqueLabName("mesh")
        let before = try rootNamespaceSnapshot()
        try withLab(fourNodeLab(name), name: name) { _ in
            let status = try lab("status", name, "--output", "json")
            #expect(status.succeeded, "\(status.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
            let pods = try #require(json?["pods"] as? [[String: Any]])
            let addresses = pods.map { ($0["name"] as! String, $0["ip"] as! String) }
            #expect(addresses.count == 6, "the file's 5 and the DNS pod")
            #expect(addresses.contains { $0 == ("d1", "10.244.4.40") })
            for (source, _) in addresses {
                for (target, address) in addresses where target != source {
                    #expect(try ping(from: "lab.\(name).pod.\(source)", to: address), "\(source) → \(target) (\(address))")
                }
            }
            // A node reaches its own pods; the external host reaches pods through the fabric.
            #expect(try ping(from: "lab.\(name).node.node-1", to: addresses.first { $0.0 == "a1" }!.1))
            #expect(try ping(from: "lab.\(name).host.laptop", to: addresses.first { $0.0 == "d1" }!.1))
            // Pod-to-pod traffic is not NATed: the routes say so, and the pod's own address is on eth0.
            let podAddress = try run(["ip", "-n", "lab.\(name).pod.a1", "-4", "-o", "addr", "show", "dev", "eth0"]).stdout
            #expect(podAddress.contains(addresses.first { $0.0 == "a1" }!.1 + "/24"))
        }
        #expect(try rootNamespaceSnapshot() == before, "the root namespace changed")
    }

    @Test func theKernelHoldsTheLayoutOfDesignSection3() throws {
        let name = uniqueLabName("layout")
        try withLab(fourNodeLab(name), name: name) { _ in
            let node = "lab.\(name).node.node-1"
            let links = try run(["ip", "-n", node, "-d", "-o", "link", "show"]).stdout
            #expect(links.contains("cni0:"))
            #expect(links.contains("eth0@"))
            let vethLines = links.split(separator: "\n").filter { $0.contains(": veth") }
            #expect(vethLines.count == 3, "a1, a2 and the DNS pod")
            for line in vethLines {
                #expect(line.contains("master cni0"))
                #expect(line.contains("hairpin on"))
            }
            let routes = try run(["ip", "-n", node, "route", "show"]).stdout
            #expect(routes.contains("default via 192.168.1.1 dev eth0"))
            // node-2 shares rack-1: direct; node-3 is on rack-2: through the gateway.
            #expect(routes.contains("10.244.2.0/24 via 192.168.1.3 dev eth0"))
            #expect(routes.contains("10.244.3.0/24 via 192.168.1.1 dev eth0"))
            let fabricRoutes = try run(["ip", "-n", "lab.\(name).fabric", "route", "show"]).stdout
            #expect(fabricRoutes.contains("10.244.3.0/24 via 172.16.0.2 dev br-rack-2"))
            let forward = try run(["ip", "netns", "exec", node, "sysctl", "-n", "net.ipv4.ip_forward"]).stdout
            #expect(forward.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
            let nf = try run(["ip", "netns", "exec", "lab.\(name).fabric", "sysctl", "-n", "net.bridge.bridge-nf-call-iptables"]).stdout
            #expect(nf.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
            let podRoutes = try run(["ip", "-n", "lab.\(name).pod.a1", "route", "show"]).stdout
            #expect(podRoutes.contains("default via 10.244.1.1 dev eth0"))
        }
    }

    /// The lab's links get no IPv6 link-local address (so bringing them up sends nothing to
    /// flood), while IPv6 itself stays on: `lo` keeps `::1`, and an address can be added by hand.
    @Test func labLinksHaveNoLinkLocalAddressButIPv6StaysOn() throws {
        let name = uniqueLabName("nofe80")
        try withLab(fourNodeLab(name), name: name) { _ in
            for namespace in ["lab.\(name).pod.a1", "lab.\(name).node.node-1", "lab.\(name).fabric"] {
                let links = try run(["ip", "-n", namespace, "-d", "-o", "link", "show"]).stdout.split(separator: "\n")
                for line in links where !line.contains(": lo:") {
                    #expect(line.contains("addrgenmode none"), "\(namespace): \(line)")
                }
                let inet6 = try run(["ip", "-n", namespace, "-6", "-o", "addr", "show"]).stdout
                #expect(!inet6.contains("fe80::"), "\(namespace): \(inet6)")
                #expect(inet6.contains("inet6 ::1/128"), "\(namespace): \(inet6)")
                // A node and the fabric create links up, so their namespace default says none; a
                // pod's eth0 is told itself, before it comes up.
                if !namespace.contains(".pod.") {
                    let mode = try run(["ip", "netns", "exec", namespace, "sysctl", "-n", "net.ipv6.conf.default.addr_gen_mode"]).stdout
                    #expect(mode.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
                }
            }
            let pod = "lab.\(name).pod.a1"
            let added = try run(["ip", "-n", pod, "addr", "add", "fd00::1/64", "dev", "eth0", "nodad"])
            #expect(added.succeeded, "\(added.stderr)")
            #expect(try run(["ip", "-n", pod, "-6", "-o", "addr", "show", "dev", "eth0"]).stdout.contains("fd00::1/64"))
            // IPv4 is untouched: the pod still reaches its gateway.
            #expect(try run(["ip", "netns", "exec", pod, "ping", "-c", "1", "-W", "2", "10.244.1.1"]).succeeded)
        }
    }

    @Test func upAgainWithTheSameFileChangesNothing() throws {
        let name = uniqueLabName("idem")
        try withLab(fourNodeLab(name), name: name) { path in
            let index = try run(["ip", "-n", "lab.\(name).pod.a1", "-o", "link", "show", "eth0"]).stdout.split(separator: ":")[0]
            let again = try lab("up", path)
            #expect(again.succeeded)
            #expect(again.stdout.contains("up to date"), "\(again.stdout)")
            let after = try run(["ip", "-n", "lab.\(name).pod.a1", "-o", "link", "show", "eth0"]).stdout.split(separator: ":")[0]
            #expect(index == after)
        }
    }

    @Test func downWorksWithoutTheStateDirectory() throws {
        let name = uniqueLabName("nostate")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).yaml")
        try fourNodeLab(name).write(to: file, atomically: true, encoding: .utf8)
        defer { _ = try? lab("down", name); try? FileManager.default.removeItem(at: file) }
        try #require(try lab("up", file.path).succeeded)
        #expect(try namespaces(of: name).count == 1 + 4 + 1 + 5 + 1, "fabric, nodes, host, pods, the DNS pod")
        try FileManager.default.removeItem(atPath: "/run/lab/\(name)")
        let down = try lab("down", name)
        #expect(down.succeeded, "\(down.stderr)")
        #expect(down.stdout.contains("removed 12 namespaces"), "\(down.stdout)")
        try expectNothingLeft(of: name)
    }

    @Test func execRunsInsideThePodNamespace() throws {
        let name = uniqueLabName("exec")
        try withLab(fourNodeLab(name), name: name) { _ in
            let result = try lab("exec", "--lab", name, "d1", "--", "ip", "-4", "-o", "addr", "show", "dev", "eth0")
            #expect(result.succeeded, "\(result.stderr)")
            #expect(result.stdout.contains("10.244.4.40/24"))
            let node = try lab("exec", "--lab", name, "node/node-3", "--", "ip", "route")
            #expect(node.stdout.contains("default via 172.16.0.1"))
            let failing = try lab("exec", "--lab", name, "d1", "--", "sh", "-c", "exit 7")
            #expect(failing.status == 7)
            let unknown = try lab("exec", "--lab", name, "nope", "--", "true")
            #expect(unknown.status == 1)
            #expect(unknown.stderr.contains("no pod, node or host \"nope\""))
        }
    }
}

@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct InterruptTests {
    /// Ctrl-C in the middle of `lab up` rolls back what it made and exits 130.
    @Test func sigintDuringUpRollsBack() throws {
        let name = uniqueLabName("sigint")
        var text = "name: \(name)\nnodes: [{name: n1}, {name: n2}]\npods:\n"
        for index in 0..<250 { text += "  - {name: p\(index), node: n\(index % 2 + 1)}\n" }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { _ = try? lab("down", name); try? FileManager.default.removeItem(at: file) }
        let up = Process()
        up.executableURL = URL(fileURLWithPath: labBinary)
        up.arguments = ["up", file.path]
        up.standardOutput = Pipe()
        let errors = Pipe()
        up.standardError = errors
        // Each namespace `up` makes is a file created in /run/netns: inotify wakes us for it.
        let created = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        defer { if created >= 0 { close(created) } }
        if created >= 0 { _ = inotify_add_watch(created, "/run/netns", UInt32(IN_CREATE)) }
        try up.run()
        // Wait until it has started building (read /run/netns directly: spawning `ip` would be
        // slower than lab), then interrupt it.
        func built() -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []).filter { $0.hasPrefix("lab.\(name).") }.count
        }
        let deadline = Date().addingTimeInterval(2)
        while built() < 3, Date() < deadline {
            var ready = pollfd(fd: created, events: Int16(POLLIN), revents: 0)
            // Without a watch (a negative descriptor is ignored) this waits 1 ms, as it used to.
            _ = poll(&ready, 1, created >= 0 ? 100 : 1)
            var events = [UInt8](repeating: 0, count: 4096)
            while created >= 0, read(created, &events, events.count) > 0 {}
        }
        kill(up.processIdentifier, SIGINT)
        up.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(up.terminationStatus == 130, "\(message)")
        #expect(message.contains("interrupted by SIGINT"))
        try expectNothingLeft(of: name)
    }
}
