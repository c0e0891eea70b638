import Foundation
import Testing

/// `lab fault …` on real labs, checked with `ip`, `iptables-save`, ping, curl and `lab verify`:
/// each fault does what it says and nothing more, is undone exactly, and nothing of it
/// outlives `lab down`.
@Suite(.enabled(if: isRoot, "needs root"), .serialized) struct FaultTests {
    static func labFile(_ name: String) -> String {
        """
        name: \(name)
        cluster: {neighbours: arp}
        networks:
          - {name: rack-1, cidr: 192.168.81.0/24}
          - {name: rack-2, cidr: 192.168.82.0/24}
          - {name: rack-3, cidr: 192.168.83.0/24}
        nodes:
          - {name: n1, network: rack-1}
          - {name: n2, network: rack-1}
          - {name: n3, network: rack-2}
        hosts:
          - {name: h1, network: rack-1}
          - {name: h3, network: rack-3}
        pods:
          - {name: client, node: n1}
          - {name: web-1, node: n1, labels: {app: web}, containers: [{name: a, agent: {http: [8080]}}]}
          - {name: web-2, node: n2, labels: {app: web}, containers: [{name: a, agent: {http: [8080]}}]}
          - {name: web-3, node: n3, labels: {app: web}, containers: [{name: a, agent: {http: [8080]}}]}
        services:
          - {name: web, clusterIP: 10.96.0.20, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
        probes:
          - {name: client reaches web-2, from: client, to: web-2, http: {port: 8080, path: /hostname}}
          - {name: web-2 reaches client, from: web-2, to: client, ping: {count: 1}}
        """
    }

    /// `ip -br link show LINK` in a namespace: whether the link is administratively up.
    static func isUp(_ namespace: String, _ link: String = "eth0") throws -> Bool {
        let flags = try run(["ip", "-n", namespace, "-o", "link", "show", link]).stdout
        return flags.contains(",UP") || flags.contains("<UP")
    }

    /// The node-side end of a pod's veth: the `vethXXXX` whose peer is the pod's eth0.
    static func nodeSide(of pod: String, lab: String) throws -> (netns: String, link: String) {
        let topology = try String(contentsOfFile: "/run/lab/\(lab)/topology.json", encoding: .utf8)
        let json = try JSONSerialization.jsonObject(with: Data(topology.utf8)) as? [String: Any]
        let pods = json?["pods"] as? [[String: Any]] ?? []
        let veth = pods.first { $0["name"] as? String == pod }?["veth"] as? [String: Any]
        return (veth?["namespace"] as? String ?? "", veth?["name"] as? String ?? "")
    }

    @Test func linkDownFailsProbesWithTheirReasonUpRestoresThemAndForRevertsByItself() throws {
        let before = try rootNamespaceSnapshot()
        let name = uniqueLabName("fault")
        try withLab(Self.labFile(name), name: name) { _ in
            let web2 = "lab.\(name).pod.web-2"
            let veth = try Self.nodeSide(of: "web-2", lab: name)
            #expect(try lab("verify", name).succeeded)

            // Down: both ends of the veth, as `ip` sees them.
            let down = try lab("fault", "down", "pod/web-2", "--lab", name)
            try #require(down.succeeded, "\(down.stderr)")
            #expect(try !Self.isUp(web2))
            #expect(try !Self.isUp(veth.netns, veth.link))
            #expect(try run(["ip", "-n", web2, "route", "show", "default"]).stdout.isEmpty, "the default route goes with the link")
            let failing = try lab("verify", name)
            #expect(failing.status == 1)
            #expect(failing.stdout.contains("FAIL  client reaches web-2"), "\(failing.stdout)")
            #expect(failing.stdout.contains("unreachable (EHOSTUNREACH)"), "\(failing.stdout)")
            #expect(failing.stdout.contains("network unreachable") || failing.stdout.contains("ENETUNREACH"), "\(failing.stdout)")
            let status = try lab("status", name)
            #expect(status.stdout.contains("down pod/web-2"), "\(status.stdout)")
            let json = try lab("status", name, "-o", "json")
            #expect(json.stdout.contains("\"fault\" : \"down pod\\/web-2\""), "\(json.stdout)")

            // The same fault again is replaced, not stacked.
            #expect(try lab("fault", "down", "web-2", "--lab", name).succeeded)
            #expect(try lab("fault", "list", "--lab", name, "-o", "json").stdout.components(separatedBy: "\"fault\"").count == 2)

            // Up: links, the route and the probes back.
            let up = try lab("fault", "up", "pod/web-2", "--lab", name)
            #expect(up.succeeded, "\(up.stderr)")
            #expect(try Self.isUp(web2))
            #expect(try Self.isUp(veth.netns, veth.link))
            #expect(!(try run(["ip", "-n", web2, "route", "show", "default"]).stdout.isEmpty))
            let passing = try lab("verify", name)
            #expect(passing.succeeded, "\(passing.stdout)")
            #expect(try lab("fault", "list", "--lab", name).stdout.contains("no fault is in force"))

            // --for: the supervisor takes it back by itself.
            let timed = try lab("fault", "down", "pod/web-2", "--for", "2s", "--lab", name)
            #expect(timed.succeeded, "\(timed.stderr)")
            #expect(try !Self.isUp(web2))
            #expect(try eventually(within: 8) { try Self.isUp(web2) && Self.isUp(veth.netns, veth.link) }, "not reverted after 2 s")
            #expect(try eventually(within: 3) { try lab("fault", "list", "--lab", name).stdout.contains("no fault is in force") })
            #expect(try eventually(within: 3) { try ping(from: "lab.\(name).pod.client", to: ipv4Address(in: web2)) })
        }
        #expect(try rootNamespaceSnapshot() == before, "the root namespace changed")
    }

    @Test func badInputIsOneLineExit64AndChangesNothing() throws {
        let name = uniqueLabName("faultbad")
        try withLab(Self.labFile(name), name: name) { _ in
            let cases: [([String], String)] = [
                (["down", "pod/web-9"], "has no pod, node or host \"pod/web-9\"; did you mean pod/web-1?"),
                (["down", "node/n9"], "did you mean node/n1?"),
                (["impair", "pod/web-1", "--loss", "120%"], "loss 120% is out of range 0% to 100%"),
                (["impair", "pod/web-1", "--delay", "-5ms"], "delay -5ms is negative"),
                (["down", "pod/web-1", "--for", "soon"], "for \"soon\" is not a duration"),
                (["partition", "rack-1", "rack-1"], "cannot partition network rack-1 from itself"),
                (["partition", "rack-1", "rack-9"], "has no network \"rack-9\""),
                (["up", "pod/web-1"], "pod/web-1 is not down"),
            ]
            for (arguments, message) in cases {
                let result = try run([labBinary, "fault"] + arguments + ["--lab", name])
                #expect(result.status == 64, "\(arguments): \(result.status) \(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
                #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: "/run/lab/\(name)/faults.json"))
            #expect(try Self.isUp("lab.\(name).pod.web-1"))
            #expect(try run(["ip", "netns", "exec", "lab.\(name).fabric", "nft", "list", "ruleset"]).stdout.isEmpty)
        }
        let notUp = try lab("fault", "down", "pod/web-1", "--lab", name)
        #expect(notUp.status == 64, "\(notUp.stderr)")
        #expect(notUp.stderr.contains("lab \"\(name)\" is not up"), "\(notUp.stderr)")
    }

    @Test func aPartitionCutsExactlyTheTwoNetworks() throws {
        let name = uniqueLabName("faultpart")
        try withLab(Self.labFile(name), name: name) { file in
            let ns = { (object: String) in "lab.\(name).\(object)" }
            let n3 = try ipv4Address(in: ns("node.n3")), h3 = try ipv4Address(in: ns("host.h3"))
            let n2 = try ipv4Address(in: ns("node.n2"))
            #expect(try ping(from: ns("host.h1"), to: n3))
            let fabricBefore = try run(["ip", "netns", "exec", ns("fabric"), "nft", "list", "ruleset"]).stdout

            let cut = try lab("fault", "partition", "rack-1", "rack-2", "--lab", name)
            #expect(cut.succeeded, "\(cut.stderr)")
            #expect(try !ping(from: ns("host.h1"), to: n3), "rack-1 → rack-2 still forwarded")
            #expect(try !ping(from: ns("node.n3"), to: try ipv4Address(in: ns("host.h1"))), "rack-2 → rack-1 still forwarded")
            #expect(try ping(from: ns("host.h1"), to: h3), "rack-1 → rack-3 cut too")
            #expect(try ping(from: ns("node.n3"), to: h3), "rack-2 → rack-3 cut too")
            #expect(try ping(from: ns("host.h1"), to: n2), "inside rack-1 cut too")
            let rules = try run(["ip", "netns", "exec", ns("fabric"), "nft", "list", "table", "inet", "lab_fault"]).stdout
            #expect(rules.contains("type filter hook forward priority filter - 10; policy accept;"), "\(rules)")
            #expect(rules.components(separatedBy: " drop").count - 1 == 2, "\(rules)")

            // A changed file applied in place keeps the fault, and says so.
            try Self.labFile(name).replacingOccurrences(of: "  - {name: client, node: n1}", with: "  - {name: client, node: n1}\n  - {name: extra, node: n3}")
                .write(toFile: file, atomically: true, encoding: .utf8)
            let change = try lab("up", file)
            #expect(change.succeeded, "\(change.stderr)")
            #expect(change.stderr.contains("kept 1 run-time fault (partition rack-1 rack-2)"), "\(change.stderr)")
            #expect(try !ping(from: ns("host.h1"), to: n3), "the partition is gone after the change")
            #expect(try ping(from: ns("pod.extra"), to: h3))

            let cleared = try lab("fault", "clear", "--lab", name)
            #expect(cleared.succeeded, "\(cleared.stderr)")
            #expect(try ping(from: ns("host.h1"), to: n3))
            let fabricAfter = try run(["ip", "netns", "exec", ns("fabric"), "nft", "list", "ruleset"]).stdout
            #expect(fabricAfter == fabricBefore, "the fabric's ruleset changed: \(fabricBefore) → \(fabricAfter)")
        }
    }

    /// `curl` the service `count` times from the client pod; the pods that answered, and how
    /// many requests failed.
    static func askService(_ lab: String, count: Int) throws -> (servedBy: Set<String>, failed: Int) {
        var served = Set<String>(), failed = 0
        for _ in 0..<count {
            let answer = try run(["ip", "netns", "exec", "lab.\(lab).pod.client", "curl", "-s", "--max-time", "0.5",
                                  "http://10.96.0.20/hostname"])
            if answer.succeeded, !answer.stdout.isEmpty { served.insert(answer.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) } else { failed += 1 }
        }
        return (served, failed)
    }

    @Test func aNodeDownKeepsItsEndpointsUntilNotReadyThenLosesThemAndDownLeavesNothing() throws {
        let before = try rootNamespaceSnapshot()
        let name = uniqueLabName("faultnode")
        let file = try writeLabFile(Self.labFile(name), name: name)
        defer {
            _ = try? lab("down", name)
            try? FileManager.default.removeItem(atPath: file)
        }
        try #require(try lab("up", file).succeeded)
        let n1 = "lab.\(name).node.n1"
        let web2 = try ipv4Address(in: "lab.\(name).pod.web-2")
        let rules = { try run(["ip", "netns", "exec", n1, "iptables-save", "-t", "nat"]).stdout }
        let healthy = try Self.askService(name, count: 12)
        #expect(healthy.failed == 0)
        #expect(healthy.servedBy == ["web-1", "web-2", "web-3"], "\(healthy)")
        let n3Rules = try run(["ip", "netns", "exec", "lab.\(name).node.n3", "iptables-save", "-t", "nat"]).stdout
        let agent = supervisors(of: name)

        // Down: n2's links (its uplink and web-2's veth) go, its processes stay; its endpoint
        // stays in the rules for the grace period, so some requests fail.
        // A grace period the checks below fit in even on a loaded machine (with 3 s, a busy CI
        // run once reached the requests after it had ended).
        let down = try lab("fault", "down", "node/n2", "--not-ready-after", "8s", "--lab", name)
        #expect(down.succeeded, "\(down.stderr)")
        #expect(try !Self.isUp("lab.\(name).node.n2"))
        #expect(try !Self.isUp("lab.\(name).pod.web-2"))
        #expect(supervisors(of: name) == agent, "the processes keep running")
        #expect(try rules().contains("\(web2):8080"))
        let outage = try Self.askService(name, count: 15)
        #expect(outage.failed > 0, "no request went to the dead node's endpoint: \(outage)")
        #expect(!outage.servedBy.contains("web-2"))

        // Not ready: web-2 is out of the service, the other rules untouched; every request is
        // served by the others.
        #expect(try eventually(within: 15) { try !rules().contains("\(web2):8080") }, "web-2 still an endpoint")
        // The supervisor records it right after the rules are in.
        #expect(try eventually(within: 2) { try lab("status", name).stdout.contains("web-2 \(web2) (not ready)") })
        let served = try Self.askService(name, count: 15)
        #expect(served.failed == 0, "\(served)")
        #expect(served.servedBy == ["web-1", "web-3"], "\(served)")
        let n3After = try run(["ip", "netns", "exec", "lab.\(name).node.n3", "iptables-save", "-t", "nat"]).stdout
        #expect(n3After.split(separator: "\n").filter { !$0.contains("10.244.2.") && !$0.hasPrefix("#") && !$0.contains("KUBE-SEP-") && !$0.contains("KUBE-SVC-") }
            == n3Rules.split(separator: "\n").filter { !$0.contains("10.244.2.") && !$0.hasPrefix("#") && !$0.contains("KUBE-SEP-") && !$0.contains("KUBE-SVC-") })

        // Up: links, routes and the endpoint back.
        #expect(try lab("fault", "up", "node/n2", "--lab", name).succeeded)
        #expect(try rules().contains("\(web2):8080"))
        #expect(try eventually(within: 5) { try Self.askService(name, count: 12).servedBy == ["web-1", "web-2", "web-3"] })

        // Down during faults of every kind, one with a clock the supervisor keeps: nothing left.
        #expect(try lab("fault", "down", "node/n2", "--not-ready-after", "0", "--lab", name).succeeded)
        #expect(try lab("fault", "partition", "rack-1", "rack-2", "--for", "60s", "--lab", name).succeeded)
        #expect(try lab("fault", "impair", "pod/web-3", "--loss", "5%", "--rate", "1mbit", "--lab", name).succeeded)
        let off = try lab("down", name)
        #expect(off.succeeded, "\(off.stderr)")
        try expectNothingLeft(of: name)
        #expect(try rootNamespaceSnapshot() == before, "the root namespace changed")
    }

    /// A run-time delay on a lab that has no supervisor (no container, no cluster DNS, no
    /// clock) starts one to serve the delay line: the link is delayed, not cut, and clear puts
    /// it back. Where the kernel has netem, netem delays it and no supervisor is needed.
    @Test func aRunTimeDelayOnALabWithoutSupervisorIsServed() throws {
        let name = uniqueLabName("fltdl")
        let yaml = """
        name: \(name)
        cluster: {neighbours: arp, dns: false}
        nodes: [{name: n1}]
        pods: [{name: c, node: n1, ip: 10.244.1.12}, {name: d, node: n1, ip: 10.244.1.13}]
        """
        try withLab(yaml, name: name) { _ in
            let impair = try lab("fault", "impair", "pod/c", "--delay", "20ms", "--lab", name)
            #expect(impair.succeeded, "\(impair.stderr)")
            let ping = try run(["ip", "netns", "exec", "lab.\(name).pod.d", "ping", "-q", "-c", "5", "-i", "0.05", "-W", "2", "10.244.1.12"])
            #expect(ImpairmentTests.lost(ping.stdout) == 0, "\(ping.stdout)")
            let average = ImpairmentTests.averageRTT(ping.stdout)
            #expect((average ?? 0) >= 39, "\(ping.stdout)")
            #expect(try lab("fault", "clear", "--lab", name).succeeded)
            let after = try run(["ip", "netns", "exec", "lab.\(name).pod.d", "ping", "-q", "-c", "3", "-i", "0.05", "-W", "2", "10.244.1.12"])
            #expect(ImpairmentTests.lost(after.stdout) == 0, "\(after.stdout)")
        }
    }
}
