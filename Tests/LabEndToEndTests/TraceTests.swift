import Foundation
import Testing

/// `lab trace` on real labs: the observed path of each of the README tour's flows equals the
/// expected one; a lab broken on purpose (a DROP rule, a fabric route deleted, a pod's veth
/// down) is reported where it stopped, with the divergence marked; nothing of the trace is
/// left in any namespace, and the host's root namespace is unchanged.
@Suite(.serialized, .enabled(if: isRoot, "needs root"))
struct TraceEndToEndTests {
    /// What a test reads back from `lab trace -o json`.
    struct Report {
        var status: Int32
        var json: [String: Any]
        var stderr: String

        var verdict: [String: Any] { json["verdict"] as? [String: Any] ?? [:] }
        var delivered: Bool { verdict["delivered"] as? Bool ?? false }
        var branch: [String: Any] { (json["expected"] as? [[String: Any]] ?? [])[verdict["branch"] as? Int ?? 0] }
        var observed: [String: Any] { json["observed"] as? [String: Any] ?? [:] }
        var observedForward: [[String: Any]] { observed["forward"] as? [[String: Any]] ?? [] }
        var observedReply: [[String: Any]] { observed["reply"] as? [[String: Any]] ?? [] }
        var expectedForward: [[String: Any]] { branch["forward"] as? [[String: Any]] ?? [] }
        var expectedReply: [[String: Any]] { branch["reply"] as? [[String: Any]] ?? [] }
        var conntrack: [[String: Any]] { json["conntrack"] as? [[String: Any]] ?? [] }
        var divergence: [String: Any]? { verdict["divergence"] as? [String: Any] }
        /// The probe's port, from `tcp 10.244.1.2:47113 → …` or `icmp 10.244.1.2 id 47113 → …`.
        var probePort: String {
            let tuple = observed["tuple"] as? String ?? ""
            let first = tuple.split(separator: "→")[0].trimmingCharacters(in: .whitespaces)
            return String(first.split(whereSeparator: { $0 == ":" || $0 == " " }).last ?? "")
        }

        static func visits(_ hops: [[String: Any]]) -> [String] {
            var result: [String] = []
            for hop in hops {
                let netns = hop["netns"] as? String ?? ""
                if result.last != netns { result.append(netns) }
            }
            return result
        }
    }

    func trace(_ arguments: String...) throws -> Report {
        let result = try run([labBinary, "trace"] + arguments + ["-o", "json"])
        let json = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any] ?? [:]
        return Report(status: result.status, json: json, stderr: result.stderr)
    }

    /// Observed = expected: the same namespaces in the same order both ways, every kube-proxy
    /// rule of the model seen firing with the same text, no divergence.
    func expectObservedEqualsExpected(_ report: Report, _ comment: Comment) {
        #expect(report.status == 0, comment)
        #expect(report.delivered, comment)
        #expect(report.divergence == nil, "\(comment): \(report.divergence ?? [:])")
        #expect(Report.visits(report.observedForward) == Report.visits(report.expectedForward), comment)
        #expect(Report.visits(report.observedReply) == Report.visits(report.expectedReply), comment)
        for hop in report.expectedForward where hop["chain"] != nil {
            let fired = report.observedForward.contains {
                $0["netns"] as? String == hop["netns"] as? String && $0["chain"] as? String == hop["chain"] as? String
                    && $0["rule"] as? String == hop["rule"] as? String
            }
            #expect(fired, "\(comment): expected rule not seen: \(hop["chain"] ?? "") \(hop["rule"] ?? "")")
        }
    }

    /// No `lab_trace` table in any namespace of the lab, and no conntrack entry of the probe's
    /// port in any node.
    func expectNothingOfTheTraceLeft(_ lab: String, port: String) throws {
        for namespace in try namespaces(of: lab) {
            let tables = try run(["ip", "netns", "exec", namespace, "nft", "list", "tables"]).stdout
            #expect(!tables.contains("lab_trace"), "trace table left in \(namespace)")
            if namespace.contains(".node.") {
                let entries = try run(["ip", "netns", "exec", namespace, "conntrack", "-L"]).stdout
                #expect(!entries.contains("sport=\(port) ") && !entries.contains("id=\(port) "), "conntrack entry of the probe left in \(namespace)")
            }
        }
        let traceDirectories = ((try? FileManager.default.contentsOfDirectory(atPath: "/run/lab/\(lab)")) ?? []).filter { $0.hasPrefix("trace") }
        #expect(traceDirectories.isEmpty)
    }

    static func demo(_ name: String) throws -> String {
        try String(contentsOf: repositoryRoot.appendingPathComponent("labs/demo.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "\nname: demo\n", with: "\nname: \(name)\n")
    }

    /// Traces take turns on the host: a probe after masquerade is known by its DSCP alone, and
    /// two traces may share one, so a second trace waits for the host's trace lock instead of
    /// marking the first one's packets; and the lock file goes with the trace.
    @Test func tracesTakeTurnsOnTheHost() throws {
        let name = uniqueLabName("trlock")
        try withLab(try Self.demo(name), name: name) { _ in
            let path = "/run/lab/._trace.lock"
            // Another holder of the host's trace lock for 1.5 s (util-linux flock; it ends by itself).
            let holder = Process()
            holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
            holder.arguments = [path, "sleep", "1.5"]
            try holder.run()
            defer { holder.waitUntilExit() }
            #expect(eventually(within: 2) { FileManager.default.fileExists(atPath: path) })
            let started = Date()
            let report = try trace("--lab", name, "pod-a", "pod-b")
            let waited = Date().timeIntervalSince(started)
            #expect(report.status == 0, "\(report.stderr)")
            #expect(waited >= 1.0, "the trace waited for the lock another trace held: \(waited) s")
            #expect(!FileManager.default.fileExists(atPath: path), "no lock file is left")
        }
    }

    @Test func theTourOnTheDemoLabAndTheLabBrokenOnPurpose() throws {
        let name = uniqueLabName("trace")
        let before = try rootNamespaceSnapshot()
        try withLab(try Self.demo(name), name: name) { _ in
            // 1. The tour: observed = expected.
            let sameNode = try trace("--lab", name, "pod-a", "pod-b")
            expectObservedEqualsExpected(sameNode, "pod to pod on one node")
            #expect(Report.visits(sameNode.observedForward) == ["lab.\(name).pod.pod-a", "lab.\(name).node.node-1", "lab.\(name).pod.pod-b"])
            try expectNothingOfTheTraceLeft(name, port: sameNode.probePort)

            let acrossNodes = try trace("--lab", name, "pod-a", "web-2", "--port", "8080")
            expectObservedEqualsExpected(acrossNodes, "across nodes")
            #expect(Report.visits(acrossNodes.observedForward).contains("lab.\(name).fabric"))

            let acrossNetworks = try trace("--lab", name, "pod-a", "multi-container-pod")
            expectObservedEqualsExpected(acrossNetworks, "across networks")
            let fabricHop = acrossNetworks.observedForward.first { $0["netns"] as? String == "lab.\(name).fabric" && $0["chain"] == nil }
            #expect((fabricHop?["decision"] as? String)?.contains("forward") == true, "the fabric routes between the racks")

            var endpoints: Set<String> = []
            var durations: [Double] = []
            for _ in 0..<4 {
                let started = Date()
                let service = try trace("--lab", name, "pod-a", "service/web", "--port", "80")
                durations.append(Date().timeIntervalSince(started))
                expectObservedEqualsExpected(service, "through the service")
                let dnat = service.conntrack.first { $0["netns"] as? String == "lab.\(name).node.node-1" }?["dnatTo"] as? String
                #expect(dnat != nil, "the conntrack entry of node-1 shows the DNAT")
                if let dnat {
                    endpoints.insert(dnat)
                    #expect((service.branch["branch"] as? String)?.contains("(\(dnat))") == true)
                }
                #expect(service.observedReply.contains { ($0["nat"] as? String)?.contains("un-DNAT src") == true && ($0["nat"] as? String)?.contains("10.96.0.20:80") == true },
                        "the reply is un-DNATed back to the ClusterIP")
                try expectNothingOfTheTraceLeft(name, port: service.probePort)
            }
            #expect(!endpoints.isEmpty)
            // Other tests share the machine's two cores: the fastest of four, listeners, tool
            // runs and cleanup included.
            #expect(durations.min()! < 1.0, "a trace of one flow on the demo lab takes under 1 s: \(durations)")

            let nodePort = try trace("--lab", name, "laptop", "service/web", "--node-port", "--port", "30080")
            expectObservedEqualsExpected(nodePort, "NodePort from the laptop")
            #expect(nodePort.observedForward.contains { ($0["nat"] as? String)?.contains("SNAT src") == true }, "masqueraded on node-1")
            try expectNothingOfTheTraceLeft(name, port: nodePort.probePort)

            // Two traces at once keep to their own packets.
            final class Results: @unchecked Sendable {
                let lock = NSLock()
                var reports: [Int: Report] = [:]
            }
            let results = Results()
            let pairs = [["pod-a", "web-2"], ["pod-b", "multi-container-pod"]]
            let suite = self
            DispatchQueue.concurrentPerform(iterations: 2) { index in
                let report = try? suite.trace("--lab", name, pairs[index][0], pairs[index][1], "--port", "8080")
                results.lock.lock()
                results.reports[index] = report
                results.lock.unlock()
            }
            for index in 0..<2 {
                let report = try #require(results.reports[index])
                expectObservedEqualsExpected(report, "concurrent trace \(pairs[index])")
                try expectNothingOfTheTraceLeft(name, port: report.probePort)
            }

            // 2. Broken on purpose, each undone before the next.
            let node2 = "lab.\(name).node.node-2"
            try run(["ip", "netns", "exec", node2, "iptables", "-I", "FORWARD", "-d", "10.244.2.2", "-p", "tcp", "--dport", "8080", "-j", "DROP"])
            let dropped = try trace("--lab", name, "pod-a", "web-2", "--port", "8080")
            try run(["ip", "netns", "exec", node2, "iptables", "-D", "FORWARD", "-d", "10.244.2.2", "-p", "tcp", "--dport", "8080", "-j", "DROP"])
            #expect(dropped.status == 1)
            #expect(dropped.verdict["stoppedAt"] as? String == "node-2")
            #expect((dropped.verdict["reason"] as? String)?.contains("-j DROP") == true)
            #expect(dropped.divergence != nil)
            try expectNothingOfTheTraceLeft(name, port: dropped.probePort)

            let fabric = "lab.\(name).fabric"
            try run(["ip", "-n", fabric, "route", "del", "10.244.4.0/24"])
            let noRoute = try trace("--lab", name, "pod-a", "multi-container-pod")
            try run(["ip", "-n", fabric, "route", "add", "10.244.4.0/24", "via", "172.16.1.1"])
            #expect(noRoute.status == 1)
            #expect(noRoute.verdict["stoppedAt"] as? String == "fabric")
            #expect((noRoute.verdict["reason"] as? String)?.contains("no route") == true)
            let index = noRoute.divergence?["expectedIndex"] as? Int
            #expect(index.map { noRoute.expectedForward[$0]["object"] as? String } == "node-3", "marked at the hop the packet never reached")

            let veth = try run(["ip", "-n", node2, "-o", "link", "show", "master", "cni0"]).stdout
                .split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst().first.map { String($0.split(separator: "@")[0]) } }
            let web2Veth = try #require(veth.first)
            try run(["ip", "-n", node2, "link", "set", web2Veth, "down"])
            let down = try trace("--lab", name, "pod-a", "web-2")
            try run(["ip", "-n", node2, "link", "set", web2Veth, "up"])
            #expect(down.status == 1)
            #expect(down.verdict["stoppedAt"] as? String == "node-2")
            #expect((down.divergence?["explanation"] as? String)?.contains("web-2") == true)
            try expectNothingOfTheTraceLeft(name, port: down.probePort)

            // 3. Bad input: one line, nothing traced.
            let unknown = try lab("trace", "--lab", name, "pod-x", "pod-b")
            #expect(unknown.status == 1)
            #expect(unknown.stderr.contains("did you mean \"pod-a\""))
            #expect(unknown.stderr.split(separator: "\n").count == 1)
            let icmpPort = try lab("trace", "--lab", name, "pod-a", "pod-b", "--port", "80", "--protocol", "icmp")
            #expect(icmpPort.status == 64)
            let noPort = try lab("trace", "--lab", name, "pod-a", "service/web", "--port", "81")
            #expect(noPort.status == 1)
            #expect(noPort.stderr.contains("has no tcp port 81"))
        }
        let notUp = try lab("trace", "--lab", name, "pod-a", "pod-b")
        #expect(notUp.status == 1)
        #expect(notUp.stderr.contains("is not up"))
        #expect(try rootNamespaceSnapshot() == before, "the host's root namespace changed")
    }

    static func netpol(_ name: String) throws -> String {
        try String(contentsOf: repositoryRoot.appendingPathComponent("labs/netpol.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "\nname: netpol\n", with: "\nname: \(name)\n")
    }

    /// On labs/netpol.yaml the kernel agrees with the policy-aware model: SQL from the API is
    /// delivered through the database's pod chain and policy chain, SQL from the web pod is
    /// rejected by the REJECT of that pod chain (the same rule text), with no divergence; and
    /// `--graph` draws the traced path over the lab.
    @Test(arguments: ["iptables", "nftables"])
    func networkPolicyDecisionsAreObservedAsExpected(_ proxy: String) throws {
        let name = uniqueLabName("tracenp")
        let before = try rootNamespaceSnapshot()
        let text = try Self.netpol(name).replacingOccurrences(of: "\nnodes:\n", with: "\ncluster: {proxy: \(proxy)}\nnodes:\n")
        let rejectRule = proxy == "iptables" ? "-m mark ! --mark 0x10000/0x10000 -j REJECT" : "meta mark & 0x00010000 == 0x00000000 reject"
        let markRule = proxy == "iptables" ? "-j MARK" : "meta mark set meta mark | 0x00010000"
        try withLab(text, name: name) { _ in
            let node1 = "lab.\(name).node.node-1"
            let allowed = try trace("--lab", name, "api", "db", "--port", "5432")
            expectObservedEqualsExpected(allowed, "api to db on 5432: allowed by store/db")
            #expect(allowed.expectedForward.contains { ($0["chain"] as? String)?.hasPrefix("KUBE-NWPLCY-") == true })
            #expect(allowed.observedForward.contains { $0["netns"] as? String == node1 && ($0["chain"] as? String)?.hasPrefix("KUBE-NWPLCY-") == true
                && ($0["rule"] as? String)?.contains(markRule) == true }, "the policy chain marked it")
            try expectNothingOfTheTraceLeft(name, port: allowed.probePort)

            // From db's own node (kubelet probes): the pod chain's LOCAL rule accepts it; ping:
            // KUBE-NWPLCY-COMMON accepts echo requests whatever the policies.
            let fromNode = try trace("--lab", name, "node/node-1", "db", "--port", "5432")
            expectObservedEqualsExpected(fromNode, "node-1 to db: its own node")
            #expect(fromNode.expectedForward.contains { ($0["decision"] as? String)?.contains("own node node-1: ACCEPT") == true })
            let ping = try trace("--lab", name, "web", "db")
            expectObservedEqualsExpected(ping, "web pings db: ICMP echo is always accepted")
            #expect(ping.expectedForward.contains { $0["chain"] as? String == "KUBE-NWPLCY-COMMON" })

            for (from, to) in [("web", "db"), ("web", "service/db")] {
                let denied = try trace("--lab", name, from, to, "--port", "5432")
                let comment: Comment = "\(from) to \(to) on 5432: rejected by store/db"
                #expect(denied.status == 1, comment)
                #expect(!denied.delivered, comment)
                #expect(denied.divergence == nil, "\(comment): \(denied.divergence ?? [:])")
                #expect(denied.verdict["stoppedAt"] as? String == "node-1", comment)
                #expect(denied.observed["answer"] as? String == "ICMP port unreachable (connection refused)", comment)
                #expect((denied.verdict["summary"] as? String)?.contains("as the model expects: rejected by NetworkPolicy at node-1") == true, comment)
                #expect(Report.visits(denied.observedReply) == Report.visits(denied.expectedReply), "\(comment): the ICMP error walks back to web")
                #expect(Report.visits(denied.observedForward) == Report.visits(denied.expectedForward), comment)
                let expectedReject = try #require(denied.expectedForward.last { $0["verdict"] as? String == "reject" }, comment)
                #expect((expectedReject["decision"] as? String)?.contains("isolated by store/db") == true, comment)
                let observedReject = denied.observedForward.first { $0["verdict"] as? String == "reject" }
                #expect(observedReject?["netns"] as? String == node1, comment)
                #expect(observedReject?["chain"] as? String == expectedReject["chain"] as? String, comment)
                #expect(observedReject?["rule"] as? String == expectedReject["rule"] as? String, comment)
                #expect((observedReject?["rule"] as? String)?.contains(rejectRule) == true, comment)
                try expectNothingOfTheTraceLeft(name, port: denied.probePort)
            }

            // --graph: the picture instead of the report, or the picture in a file and the report.
            let mermaid = try lab("trace", "--lab", name, "api", "db", "--port", "5432", "--graph")
            #expect(mermaid.status == 0)
            #expect(mermaid.stdout.hasPrefix("flowchart LR"))
            #expect(mermaid.stdout.contains("class node_node_1,pod_api,pod_db hl_expected"), "\(mermaid.stdout)")
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-trace.json").path
            defer { try? FileManager.default.removeItem(atPath: file) }
            let drawn = try lab("trace", "--lab", name, "web", "db", "--port", "5432", "--graph", "-f", "json", "-o", file)
            #expect(drawn.status == 1)
            #expect(drawn.stdout.contains("verdict: not delivered"))
            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
            let highlights = json["highlights"] as? [[String: Any]] ?? []
            #expect(highlights.map { $0["style"] as? String } == ["expected"], "observed = expected: one path drawn")
            #expect(Set(highlights.first?["nodes"] as? [String] ?? []) == ["pod_web", "node_node_2", "net_underlay", "fabric", "node_node_1"])
        }
        #expect(try rootNamespaceSnapshot() == before, "the host's root namespace changed")
    }

    /// In vxlan mode the rejected packet reaches node-1 through flannel.1 (node-1's input sees
    /// only the outer UDP: not an arrival) and the ICMP error goes back encapsulated. A node's
    /// own packet to a pod behind another node leaves by flannel.1 with flannel.1's address (the
    /// source its route lookup picks, `ip route get` agrees), and the answer comes back through
    /// the overlay: observed = expected, allowed or rejected.
    @Test func aNetworkPolicyRejectAcrossTheOverlay() throws {
        let name = uniqueLabName("tracenpvx")
        let text = try Self.netpol(name).replacingOccurrences(of: "\nnodes:\n", with: "\ncluster: {network: vxlan}\nnodes:\n")
        try withLab(text, name: name) { _ in
            let denied = try trace("--lab", name, "web", "db", "--port", "5432")
            #expect(denied.status == 1)
            #expect(!denied.delivered)
            #expect(denied.verdict["stoppedAt"] as? String == "node-1")
            #expect(denied.divergence == nil, "\(denied.divergence ?? [:])")
            #expect(Report.visits(denied.observedReply) == Report.visits(denied.expectedReply))
            #expect(denied.observedReply.contains { ($0["encap"] as? String)?.hasPrefix("vxlan") == true }, "the ICMP error, encapsulated")
            try expectNothingOfTheTraceLeft(name, port: denied.probePort)

            // node-1 → web (node-2): the kernel's choice of source is flannel.1's 10.244.1.0.
            let node1 = "lab.\(name).node.node-1"
            let routeGet = try run(["ip", "-n", node1, "route", "get", "10.244.2.2"]).stdout
            #expect(routeGet.contains("dev flannel.1") && routeGet.contains("src 10.244.1.0"), "\(routeGet)")
            let fromNode = try trace("--lab", name, "node/node-1", "web", "--port", "8080")
            expectObservedEqualsExpected(fromNode, "node-1 to web across the overlay")
            #expect((fromNode.observed["tuple"] as? String)?.hasPrefix("tcp 10.244.1.0:") == true, "\(fromNode.observed["tuple"] ?? "")")
            #expect(fromNode.observedReply.contains { ($0["encap"] as? String)?.hasPrefix("vxlan") == true }, "the answer, encapsulated")
            #expect(fromNode.expectedReply.contains { ($0["encap"] as? String)?.hasPrefix("vxlan") == true }, "the answer, encapsulated")
            try expectNothingOfTheTraceLeft(name, port: fromNode.probePort)

            // node-2 → db (node-1) on 5432: rejected by store/db, the ICMP error back to 10.244.2.0.
            let nodeDenied = try trace("--lab", name, "node/node-2", "db", "--port", "5432")
            #expect(nodeDenied.status == 1)
            #expect(nodeDenied.verdict["stoppedAt"] as? String == "node-1")
            #expect(nodeDenied.divergence == nil, "\(nodeDenied.divergence ?? [:])")
            #expect(Report.visits(nodeDenied.observedForward) == Report.visits(nodeDenied.expectedForward))
            #expect(Report.visits(nodeDenied.observedReply) == Report.visits(nodeDenied.expectedReply))
            #expect((nodeDenied.observed["tuple"] as? String)?.hasPrefix("tcp 10.244.2.0:") == true, "\(nodeDenied.observed["tuple"] ?? "")")
            try expectNothingOfTheTraceLeft(name, port: nodeDenied.probePort)

            // Through the service: masqueraded out of flannel.1 to its address (the packet's
            // port changes), the ICMP error back inside VXLAN, both still seen.
            let serviceDenied = try trace("--lab", name, "node/node-2", "service/db", "--port", "5432")
            #expect(serviceDenied.status == 1)
            #expect(serviceDenied.divergence == nil, "\(serviceDenied.divergence ?? [:])")
            #expect(Report.visits(serviceDenied.observedForward) == Report.visits(serviceDenied.expectedForward))
            #expect(Report.visits(serviceDenied.observedReply) == Report.visits(serviceDenied.expectedReply))
            #expect(serviceDenied.observedForward.contains { ($0["nat"] as? String)?.contains("SNAT src 172.18.0.3:") == true
                && ($0["nat"] as? String)?.contains("→ 10.244.2.0:") == true }, "the kernel masqueraded to flannel.1's address")
            try expectNothingOfTheTraceLeft(name, port: serviceDenied.probePort)
        }
    }

    /// nftables mode: every kube-proxy rule the model quotes for a masqueraded NodePort flow
    /// (the mark, the mark cleared, the masquerade) is a line `nft list chain` prints in that
    /// node, and the kernel's trace names the same rules.
    @Test func theQuotedNFTablesRulesAreWhatNFTListPrints() throws {
        let name = uniqueLabName("tracenft")
        let text = try Self.demo(name).replacingOccurrences(of: "\n  proxy: iptables", with: "\n  proxy: nftables")
        #expect(text.contains("proxy: nftables"))
        try withLab(text, name: name) { _ in
            let nodePort = try trace("--lab", name, "laptop", "service/web", "--node-port", "--port", "30080")
            expectObservedEqualsExpected(nodePort, "nftables NodePort from the laptop")
            let quoted = nodePort.expectedForward.filter { $0["table"] as? String == "kube-proxy" }
            #expect(quoted.contains { $0["chain"] as? String == "masquerading" && $0["rule"] as? String == "meta mark set meta mark ^ 0x00004000" },
                    "\(quoted.map { $0["rule"] ?? "" })")
            var listings: [String: [String]] = [:]
            for hop in quoted {
                let netns = try #require(hop["netns"] as? String)
                let chain = try #require(hop["chain"] as? String)
                let rule = try #require(hop["rule"] as? String)
                let key = "\(netns) \(chain)"
                if listings[key] == nil {
                    let listed = try run(["ip", "netns", "exec", netns, "nft", "list", "chain", "ip", "kube-proxy", chain])
                    #expect(listed.status == 0, "\(listed.stderr)")
                    listings[key] = listed.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                }
                #expect(listings[key]!.contains(rule), "\(chain): the model quotes \"\(rule)\"; nft lists \(listings[key]!)")
            }
            try expectNothingOfTheTraceLeft(name, port: nodePort.probePort)
        }
    }

    static func overlay(_ name: String) -> String {
        """
        name: \(name)
        cluster: {network: vxlan, proxy: nftables, mtu: 1500}
        networks:
          - {name: rack-1, cidr: 192.168.1.0/24}
          - {name: rack-2, cidr: 172.16.0.0/16}
        nodes:
          - {name: node-1, network: rack-1}
          - {name: node-2, network: rack-1}
          - {name: node-3, network: rack-2}
        pods:
          - {name: a, node: node-1, labels: {app: web}, containers: [{name: web, agent: {http: [8080]}}]}
          - {name: b, node: node-2, labels: {app: web}, containers: [{name: web, agent: {http: [8080]}}]}
          - {name: c, node: node-3}
        services:
          - {name: web, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
        """
    }

    @Test func theOverlayEncapsulationIsSeenInTheKernel() throws {
        let name = uniqueLabName("traceov")
        try withLab(Self.overlay(name), name: name) { _ in
            let ping = try trace("--lab", name, "c", "b")
            expectObservedEqualsExpected(ping, "overlay across networks")
            let encap = ping.observedForward.compactMap { $0["encap"] as? String }
            #expect(encap.contains { $0.hasPrefix("vxlan 172.16.0.2 → 192.168.1.3 udp 8472 vni 1") }, "\(encap)")
            #expect(encap.contains { $0.hasPrefix("vxlan decap 172.16.0.2 → 192.168.1.3 udp 8472 vni 1") }, "\(encap)")
            try expectNothingOfTheTraceLeft(name, port: ping.probePort)

            let service = try trace("--lab", name, "c", "service/web", "--port", "80")
            expectObservedEqualsExpected(service, "nftables service across the overlay")
            #expect(service.conntrack.contains { $0["dnatTo"] as? String != nil })
            try expectNothingOfTheTraceLeft(name, port: service.probePort)

            // A node's packet to a ClusterIP is masqueraded (its eth0 address is outside the
            // cluster CIDR); toward a pod behind another node it leaves by flannel.1 with that
            // device's address.
            for _ in 0..<2 {
                let fromNode = try trace("--lab", name, "node/node-3", "service/web", "--port", "80")
                expectObservedEqualsExpected(fromNode, "node-3 to the service across the overlay")
                let snat = fromNode.expectedForward.first { ($0["nat"] as? String)?.hasPrefix("SNAT") == true }
                if snat?["out"] as? String == "flannel.1" {
                    let nat = snat?["nat"] as? String ?? ""
                    #expect(nat.hasPrefix("SNAT src 172.16.0.2:") && nat.hasSuffix(".0:*") && nat.contains("→ 10.244."), "masqueraded to flannel.1's address: \(nat)")
                }
                try expectNothingOfTheTraceLeft(name, port: fromNode.probePort)
            }
        }
    }
}
