import Foundation
import Testing

/// `lab up` of a changed file on a running lab: only the
/// difference is applied. Checked with `ip`, `iptables-save`, `nft`, `conntrack`, curl and nc.
///
/// Pod addresses are explicit so a fresh `up` of the changed file numbers everything exactly as
/// the changed lab does, and the two can be compared object by object.
/// In `arp` mode, named: `auto` would depend on the host's table at the time, and in `static`
/// mode a pod's peers on its node change with it.
func reconcileLab(_ name: String, proxy: String, changed: Bool) -> String {
    let pods = changed
        ? """
          - {name: keep, node: n1, ip: 10.244.1.10, labels: {app: web}, containers: [{name: a, agent: {http: [8080]}}]}
          - {name: stay, node: n2, ip: 10.244.2.10, labels: {app: web, tier: stable}, containers: [{name: s, command: [sleep, infinity]}, {name: a, agent: {http: [8080]}}]}
          - {name: mover, node: n2, ip: 10.244.2.12, containers: [{name: a, agent: {http: [8080]}}]}
          - {name: client, node: n1, ip: 10.244.1.20}
          - {name: fresh, node: n1, ip: 10.244.1.13, labels: {app: other}, containers: [{name: a, agent: {http: [8080]}}]}
        """
        : """
          - {name: keep, node: n1, ip: 10.244.1.10, labels: {app: web}, containers: [{name: a, agent: {http: [8080]}}]}
          - {name: stay, node: n2, ip: 10.244.2.10, labels: {app: web, tier: stable}, containers: [{name: s, command: [sleep, infinity]}, {name: a, agent: {http: [8080]}}]}
          - {name: gone, node: n2, ip: 10.244.2.11, labels: {app: web}, containers: [{name: s, command: [sleep, infinity]}, {name: a, agent: {http: [8080]}}]}
          - {name: mover, node: n1, ip: 10.244.1.12, containers: [{name: a, agent: {http: [8080]}}]}
          - {name: client, node: n1, ip: 10.244.1.20}
        """
    return """
    name: \(name)
    cluster: {proxy: \(proxy), neighbours: arp}
    nodes: [{name: n1}, {name: n2}]
    pods:
    \(pods)
    services:
      - {name: web, clusterIP: 10.96.0.20, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
      - {name: other, clusterIP: 10.96.0.11, selector: {app: other}, ports: [{port: 80, targetPort: 8080}]}
      - {name: stable, clusterIP: 10.96.0.12, selector: {tier: stable}, ports: [{port: 80, targetPort: 8080}]}
    """
}

/// `N: eth0@ifM` and the MAC: what a recreated link would change.
func linkIdentity(_ namespace: String, _ link: String) throws -> String {
    let line = try run(["ip", "-n", namespace, "-o", "link", "show", link]).stdout
    let index = line.split(separator: ":").prefix(2).joined(separator: ":")
    let mac = line.range(of: #"link/ether [0-9a-f:]+"#, options: .regularExpression).map { String(line[$0]) } ?? ""
    return "\(index) \(mac)"
}

/// Everything `ip` and the firewall show in every namespace of the lab, with what differs
/// between two builds of the same lab taken out (interface indexes, counters, handles, and the
/// order in which chains were created).
func labSnapshot(_ lab: String, proxy: String) throws -> [String: String] {
    var snapshot: [String: String] = [:]
    for namespace in try namespaces(of: lab) {
        let links = try run(["ip", "-n", namespace, "-o", "link", "show"]).stdout.split(separator: "\n").map { line in
            line.replacingOccurrences(of: #"^\d+: "#, with: "", options: .regularExpression)
                .replacingOccurrences(of: #"@if\d+"#, with: "", options: .regularExpression)
                .replacingOccurrences(of: #"link-netns \S+"#, with: "", options: .regularExpression)
        }
        snapshot["\(namespace) links"] = links.sorted().joined(separator: "\n")
        snapshot["\(namespace) addresses"] = try run(["ip", "-n", namespace, "-o", "-4", "addr", "show"]).stdout
            .split(separator: "\n").map { $0.replacingOccurrences(of: #"^\d+: "#, with: "", options: .regularExpression) }
            .sorted().joined(separator: "\n")
        snapshot["\(namespace) routes"] = try run(["ip", "-n", namespace, "route", "show"]).stdout
        guard namespace.contains(".node.") else { continue }
        if proxy == "iptables" {
            let rules = try run(["ip", "netns", "exec", namespace, "iptables-save"]).stdout.split(separator: "\n")
                .filter { !$0.hasPrefix("#") }
                .map { $0.replacingOccurrences(of: #"\[\d+:\d+\]"#, with: "", options: .regularExpression) }
            // A stable sort by chain keeps each chain's rule order and forgets the chain order.
            snapshot["\(namespace) iptables"] = rules.enumerated().sorted { a, b in
                let ka = a.element.split(separator: " ").prefix(2).joined(separator: " ")
                let kb = b.element.split(separator: " ").prefix(2).joined(separator: " ")
                return ka == kb ? a.offset < b.offset : ka < kb
            }.map(\.element).joined(separator: "\n")
        } else {
            snapshot["\(namespace) nft"] = try run(["ip", "netns", "exec", namespace, "nft", "list", "table", "ip", "kube-proxy"]).stdout
                .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.sorted().joined(separator: "\n")
        }
    }
    return snapshot
}

/// The pid of a container as `lab status` reports it.
func containerPID(_ lab: String, pod: String, container: String) throws -> Int? {
    try containerStates(lab).first { $0["pod"] as? String == pod && $0["container"] as? String == container }?["pid"] as? Int
}

@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct ReconcileTests {
    @Test(arguments: ["iptables", "nftables"])
    func aChangedLabKeepsUntouchedPodsAndEndsAsAFreshUpWould(_ proxy: String) throws {
        let name = uniqueLabName("rec-\(proxy.prefix(3))")
        let changedFile = try writeLabFile(reconcileLab(name, proxy: proxy, changed: true), name: "\(name)-b")
        defer { try? FileManager.default.removeItem(atPath: changedFile) }
        try withLab(reconcileLab(name, proxy: proxy, changed: false), name: name) { _ in
            let client = "lab.\(name).pod.client"
            // Traffic through the service that will not change, so its chains have counters.
            for _ in 0..<3 { #expect(try curl(client, "http://10.96.0.12/hostname").stdout == "stay") }
            let stableCounters = try serviceCounters(name, proxy: proxy)
            let identities = try ["keep", "stay", "client"].map { try linkIdentity("lab.\(name).pod.\($0)", "eth0") }
            let pids = try [("keep", "a"), ("stay", "s"), ("stay", "a")].map { try containerPID(name, pod: $0.0, container: $0.1) }
            #expect(pids.allSatisfy { $0 != nil })
            // A process container: agents run inside the supervisor, which stays.
            let gonePID = try #require(try containerPID(name, pod: "gone", container: "s"))
            let supervisor = try String(contentsOfFile: "/run/lab/\(name)/supervisor.pid", encoding: .utf8)

            let up = try lab("up", changedFile)
            try #require(up.succeeded, "lab up of the changed file failed: \(up.stderr)")
            #expect(up.stdout.contains("changed in place"), "\(up.stdout)")

            // Untouched pods: the same links (index, peer, MAC) and the same processes.
            #expect(try ["keep", "stay", "client"].map { try linkIdentity("lab.\(name).pod.\($0)", "eth0") } == identities)
            #expect(try [("keep", "a"), ("stay", "s"), ("stay", "a")].map { try containerPID(name, pod: $0.0, container: $0.1) } == pids)
            #expect(try String(contentsOfFile: "/run/lab/\(name)/supervisor.pid", encoding: .utf8) == supervisor)
            // The removed pod: namespace and processes gone.
            #expect(try !namespaces(of: name).contains("lab.\(name).pod.gone"))
            #expect(!isRunning(gonePID), "the removed pod's container \(gonePID) still runs")
            // The moved pod hangs off n2 now and answers; the new pod serves its service.
            #expect(try run(["ip", "-n", "lab.\(name).pod.mover", "-o", "link", "show", "eth0"]).stdout.contains("link-netns lab.\(name).node.n2"))
            #expect(try curl(client, "http://10.244.2.12:8080/hostname").stdout == "mover")
            #expect(try curl(client, "http://10.96.0.11/hostname").stdout == "fresh")
            var served = Set<String>()
            for _ in 0..<12 { served.insert(try curl(client, "http://10.96.0.20/hostname").stdout) }
            #expect(served == ["keep", "stay"], "web must no longer send anything to the removed pod")
            // The unchanged service's chains kept their counters (partial sync).
            #expect(try serviceCounters(name, proxy: proxy) == stableCounters)
            #expect(stableCounters.contains { $0 != "0" })

            // What the change built is what a fresh up of the changed file builds.
            let changed = try labSnapshot(name, proxy: proxy)
            #expect(try lab("down", name).succeeded)
            let fresh = try lab("up", changedFile)
            try #require(fresh.succeeded, "\(fresh.stderr)")
            let rebuilt = try labSnapshot(name, proxy: proxy)
            #expect(changed.keys.sorted() == rebuilt.keys.sorted())
            for key in rebuilt.keys.sorted() where changed[key] != rebuilt[key] {
                Issue.record("\(key) differs after the change:\n--- changed in place\n\(changed[key] ?? "")\n--- fresh\n\(rebuilt[key] ?? "")")
            }
        }
    }

    /// The packet counters of the `stable` service's own chains on both nodes (KUBE-SERVICES is
    /// rewritten whenever any service changes, as in kube-proxy): iptables counters of its
    /// KUBE-SVC/KUBE-SEP rules, or nft rule handles of its chains
    /// (nft has no counters in kube-proxy's rules; a rewritten chain gets new handles).
    func serviceCounters(_ lab: String, proxy: String) throws -> [String] {
        var values: [String] = []
        for node in ["n1", "n2"] {
            let namespace = "lab.\(lab).node.\(node)"
            if proxy == "iptables" {
                let save = try run(["ip", "netns", "exec", namespace, "iptables-save", "-c", "-t", "nat"]).stdout
                for line in save.split(separator: "\n") where line.contains("default/stable")
                    && (line.contains("-A KUBE-SVC-") || line.contains("-A KUBE-SEP-")) {
                    values.append(String(line.prefix { $0 != "]" }.dropFirst().prefix { $0 != ":" }))
                }
            } else {
                let table = try run(["ip", "netns", "exec", namespace, "nft", "-a", "list", "table", "ip", "kube-proxy"]).stdout
                var inStable = false
                for line in table.split(separator: "\n") {
                    if line.contains("chain ") { inStable = line.contains("default/stable") }
                    if inStable, let handle = line.range(of: #"# handle \d+"#, options: .regularExpression) {
                        values.append(String(line[handle]))
                    }
                }
            }
        }
        return values
    }

    @Test func dryRunOnARunningLabPrintsOnlyTheDifferenceAndChangesNothing() throws {
        let name = uniqueLabName("rec-dry")
        let changedFile = try writeLabFile(reconcileLab(name, proxy: "iptables", changed: true), name: "\(name)-b")
        defer { try? FileManager.default.removeItem(atPath: changedFile) }
        try withLab(reconcileLab(name, proxy: "iptables", changed: false), name: name) { _ in
            let before = try namespaces(of: name).sorted()
            let dry = try lab("up", "--dry-run", changedFile)
            #expect(dry.succeeded)
            #expect(dry.stdout.contains("ip netns del lab.\(name).pod.gone"))
            #expect(dry.stdout.contains("ip netns add lab.\(name).pod.fresh"))
            #expect(!dry.stdout.contains("ip netns add lab.\(name).pod.keep"))
            #expect(!dry.stdout.contains("lab.\(name).pod.stay "), "an untouched pod is not in the difference")
            #expect(dry.stdout.contains("iptables-restore"))
            #expect(try namespaces(of: name).sorted() == before)
            // The same file on the running lab: nothing to do.
            let same = try lab("up", "--dry-run", try writeLabFile(reconcileLab(name, proxy: "iptables", changed: false), name: "\(name)-a"))
            #expect(same.stdout.contains("# nothing"))
        }
    }

    @Test(arguments: ["iptables", "nftables"])
    func udpFlowsToAnEndpointTheServiceLostAreFlushed(_ proxy: String) throws {
        let name = uniqueLabName("rec-udp")
        func file(_ labelled: [String]) -> String {
            """
            name: \(name)
            cluster: {proxy: \(proxy)}
            nodes: [{name: n1}, {name: n2}]
            pods:
              - {name: client, node: n1}
              - {name: u1, node: n1, labels: {\(labelled.contains("u1") ? "app: dns" : "app: none")}, containers: [{name: a, agent: {udp: [9001]}}]}
              - {name: u2, node: n2, labels: {\(labelled.contains("u2") ? "app: dns" : "app: none")}, containers: [{name: a, agent: {udp: [9001]}}]}
            services:
              - {name: dns, clusterIP: 10.96.0.53, selector: {app: dns}, ports: [{port: 53, targetPort: 9001, protocol: UDP}]}
            """
        }
        try withLab(file(["u1", "u2"]), name: name) { _ in
            let client = "lab.\(name).pod.client"
            /// One datagram from a fixed source port, so every send is the same conntrack flow.
            func ask() throws -> String {
                let reply = try run(["ip", "netns", "exec", client, "nc", "-u", "-w", "1", "-p", "40053", "10.96.0.53", "53"], input: "who\n")
                return String(reply.stdout.split(separator: " ").first ?? "")
            }
            let pinned = try ask()
            #expect(["u1", "u2"].contains(pinned), "no answer from the service: \(pinned)")
            for _ in 0..<3 { #expect(try ask() == pinned, "one flow, one endpoint") }
            let other = pinned == "u1" ? "u2" : "u1"
            let entries = try run(["ip", "netns", "exec", "lab.\(name).node.n1", "conntrack", "-L", "-p", "udp", "--orig-dst", "10.96.0.53"])
            #expect(entries.stdout.contains("sport=40053"), "the flow is tracked in the client's node: \(entries.stdout)\(entries.stderr)")

            // The pinned pod leaves the service but keeps running: without the flush, the flow
            // would keep going to it.
            let changed = try writeLabFile(file([other]), name: "\(name)-b")
            defer { try? FileManager.default.removeItem(atPath: changed) }
            let up = try lab("up", changed)
            try #require(up.succeeded, "\(up.stderr)")
            #expect(up.stdout.contains("changed in place"))
            #expect(try ask() == other)
        }
    }

    @Test func aKernelErrorDuringAChangeRebuildsTheLabFromTheFile() throws {
        let name = uniqueLabName("rec-fault")
        let changedFile = try writeLabFile(reconcileLab(name, proxy: "iptables", changed: true), name: "\(name)-b")
        defer { try? FileManager.default.removeItem(atPath: changedFile) }
        try withLab(reconcileLab(name, proxy: "iptables", changed: false), name: name) { _ in
            let up = try lab("up", changedFile, environment: environment(adding: ["LAB_INJECT_FAULT": "3"]))
            #expect(up.succeeded, "\(up.stderr)")
            #expect(up.stderr.contains("in place failed"), "the failure is reported: \(up.stderr)")
            #expect(up.stdout.contains("removed the previous version first"))
            // The rebuilt lab is the changed file's.
            #expect(try !namespaces(of: name).contains("lab.\(name).pod.gone"))
            #expect(try curl("lab.\(name).pod.client", "http://10.96.0.11/hostname").stdout == "fresh")
            let again = try lab("up", changedFile)
            #expect(again.stdout.contains("up to date"))
        }
    }
}

@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct OverlayReconcileTests {
    /// flannel's per-remote-node entries follow the nodes: a node added to a vxlan lab is
    /// written into every other node (neighbour, FDB entry, onlink route), a removed one is
    /// taken out of them, and the nodes that stay keep their `flannel.1`.
    @Test func nodesComeAndGoInAnOverlayLab() throws {
        let name = uniqueLabName("rec-vx")
        func file(_ nodes: [String]) -> String {
            """
            name: \(name)
            cluster: {network: vxlan}
            nodes: [\(nodes.map { "{name: \($0)}" }.joined(separator: ", "))]
            pods:
            \(nodes.map { "  - {name: p-\($0), node: \($0)}" }.joined(separator: "\n"))
            """
        }
        try withLab(file(["n1", "n2"]), name: name) { _ in
            let n1 = "lab.\(name).node.n1"
            let vtep = try linkIdentity(n1, "flannel.1")
            let n2IP = try ipv4Address(in: "lab.\(name).node.n2")
            #expect(try run(["bridge", "-n", n1, "fdb", "show", "dev", "flannel.1"]).stdout.contains("dst \(n2IP)"))

            let three = try writeLabFile(file(["n1", "n2", "n3"]), name: "\(name)-3")
            defer { try? FileManager.default.removeItem(atPath: three) }
            #expect(try lab("up", three).stdout.contains("changed in place"))
            let p3 = try ipv4Address(in: "lab.\(name).pod.p-n3")
            #expect(try ping(from: "lab.\(name).pod.p-n1", to: p3), "n1's pod reaches the new node's pod through the overlay")
            #expect(try linkIdentity(n1, "flannel.1") == vtep, "n1 keeps its VXLAN device")

            let without2 = try writeLabFile(file(["n1", "n3"]), name: "\(name)-13")
            defer { try? FileManager.default.removeItem(atPath: without2) }
            let up = try lab("up", without2)
            #expect(up.stdout.contains("changed in place"), "\(up.stdout)\(up.stderr)")
            let fdb = try run(["bridge", "-n", n1, "fdb", "show", "dev", "flannel.1"]).stdout
            #expect(!fdb.contains("dst \(n2IP)"), "the removed node's FDB entry is gone: \(fdb)")
            #expect(!(try run(["ip", "-n", n1, "route", "show"]).stdout.contains("10.244.2.0/24")), "and its route")
            #expect(!(try run(["ip", "-n", n1, "neigh", "show", "dev", "flannel.1"]).stdout.contains("10.244.2.0")), "and its neighbour")
            #expect(try ping(from: "lab.\(name).pod.p-n1", to: p3))
        }
    }
}

@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct FirewallReconcileTests {
    /// Without cluster DNS: its kube-dns would be a service left when the file's last one goes.
    func lab(_ name: String, proxy: String, services: Bool) -> String {
        """
        name: \(name)
        cluster: {proxy: \(proxy), dns: false}
        nodes: [{name: n1}]
        pods:
          - {name: web, node: n1, labels: {app: web}, containers: [{name: a, agent: {http: [8080]}}]}
          - {name: client, node: n1}
        \(services ? "services: [{name: web, clusterIP: 10.96.0.20, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}]" : "")
        """
    }

    func iptablesKubeRules(_ namespace: String) throws -> [String] {
        try run(["ip", "netns", "exec", namespace, "iptables-save"]).stdout.split(separator: "\n")
            .filter { $0.contains("KUBE-") }.map(String.init)
    }

    func nftTables(_ namespace: String) throws -> String {
        try run(["ip", "netns", "exec", namespace, "nft", "list", "tables"]).stdout
    }

    /// Switching `cluster.proxy` takes the old mode's rules out completely (hook rules
    /// deleted one by one, chains flushed and deleted) and loads the new mode's whole; removing
    /// the last service removes every rule.
    @Test func proxyModeSwitchesAndTheLastServiceGoesAway() throws {
        let name = uniqueLabName("rec-fw")
        let node = "lab.\(name).node.n1", client = "lab.\(name).pod.client"
        try withLab(lab(name, proxy: "iptables", services: true), name: name) { _ in
            #expect(try curl(client, "http://10.96.0.20/hostname").stdout == "web")
            #expect(try !iptablesKubeRules(node).isEmpty)

            let nft = try writeLabFile(lab(name, proxy: "nftables", services: true), name: "\(name)-nft")
            defer { try? FileManager.default.removeItem(atPath: nft) }
            let switched = try self.runLab("up", nft)
            #expect(switched.stdout.contains("changed in place"), "\(switched.stdout)\(switched.stderr)")
            #expect(try iptablesKubeRules(node).isEmpty, "no iptables rule of kube-proxy is left")
            #expect(try nftTables(node).contains("table ip kube-proxy"))
            #expect(try curl(client, "http://10.96.0.20/hostname").stdout == "web")
            // The state keeps the node's whole rules, not the partial input of the change.
            let kept = "/run/lab/\(name)/rules/\(node).rules"
            #expect((try? String(contentsOfFile: kept, encoding: .utf8))?.contains("add table ip kube-proxy { comment") == true)

            let none = try writeLabFile(lab(name, proxy: "nftables", services: false), name: "\(name)-none")
            defer { try? FileManager.default.removeItem(atPath: none) }
            #expect(try self.runLab("up", none).stdout.contains("changed in place"))
            #expect(try !nftTables(node).contains("kube-proxy"), "the table is gone with the last service")
            #expect(!FileManager.default.fileExists(atPath: kept), "and so are its kept rules")
            #expect(try !curl(client, "http://10.96.0.20/hostname").succeeded)

            let back = try writeLabFile(lab(name, proxy: "iptables", services: true), name: "\(name)-back")
            defer { try? FileManager.default.removeItem(atPath: back) }
            #expect(try self.runLab("up", back).stdout.contains("changed in place"))
            #expect(try curl(client, "http://10.96.0.20/hostname").stdout == "web")
            let iptablesOnly = try writeLabFile(lab(name, proxy: "iptables", services: false), name: "\(name)-ipt-none")
            defer { try? FileManager.default.removeItem(atPath: iptablesOnly) }
            #expect(try self.runLab("up", iptablesOnly).stdout.contains("changed in place"))
            let left = try iptablesKubeRules(node)
            #expect(left.isEmpty, "hooks and chains removed: \(left)")
        }
    }

    func runLab(_ arguments: String...) throws -> CommandResult {
        try run([labBinary] + arguments)
    }
}

@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct RemovalReconcileTests {
    /// A deleted namespace is torn down by the kernel later, and never while a process is
    /// inside: a change must not trip over what is still there. Node n3 goes and its pod moves
    /// to n2 (a new veth whose peer is the same pod's eth0); pod `gone` goes while a process
    /// started in it (as `lab exec` would) still runs.
    @Test func removedNamespacesDoNotLingerInTheWayOfAChange() throws {
        let name = uniqueLabName("rec-rm")
        func file(_ removed: Bool) -> String {
            """
            name: \(name)
            nodes: [{name: n1}, {name: n2}\(removed ? "" : ", {name: n3}")]
            pods:
              - {name: client, node: n1}
              - {name: wanderer, node: \(removed ? "n2" : "n3")}
            \(removed ? "" : "  - {name: gone, node: n1}")
            """
        }
        try withLab(file(false), name: name) { _ in
            let lingering = Process()
            lingering.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            lingering.arguments = ["ip", "netns", "exec", "lab.\(name).pod.gone", "sleep", "60"]
            try lingering.run()
            defer { if lingering.isRunning { kill(lingering.processIdentifier, SIGKILL) }; lingering.waitUntilExit() }
            #expect(eventually(within: 5) { (try? run(["ip", "netns", "pids", "lab.\(name).pod.gone"]).stdout.isEmpty) == false })
            let goneVeth = try run(["ip", "-n", "lab.\(name).node.n1", "-o", "link", "show", "master", "cni0"]).stdout
                .split(separator: "\n").count

            let changed = try writeLabFile(file(true), name: "\(name)-b")
            defer { try? FileManager.default.removeItem(atPath: changed) }
            let up = try lab("up", changed)
            #expect(up.succeeded && up.stdout.contains("changed in place"), "\(up.stdout)\(up.stderr)")
            #expect(!up.stderr.contains("in place failed"), "\(up.stderr)")
            // The moved pod answers from n2.
            let address = try ipv4Address(in: "lab.\(name).pod.wanderer")
            #expect(address.hasPrefix("10.244.2."), "\(address)")
            #expect(try ping(from: "lab.\(name).pod.client", to: address))
            // The removed pod: its process ended, its veth gone from n1's cni0 at once.
            #expect(eventually(within: 5) { !lingering.isRunning })
            let ports = try run(["ip", "-n", "lab.\(name).node.n1", "-o", "link", "show", "master", "cni0"]).stdout
                .split(separator: "\n").count
            #expect(ports == goneVeth - 1, "n1's cni0 had \(goneVeth) ports, now \(ports)")
            #expect(try !namespaces(of: name).contains("lab.\(name).pod.gone"))
        }
    }

    /// A change after the supervisor was killed (SIGKILL): its orphaned containers end before
    /// the new supervisor starts, so there is one copy of each, not two.
    @Test func aChangeAfterTheSupervisorWasKilledLeavesOneCopyOfEachContainer() throws {
        let name = uniqueLabName("rec-orph")
        func file(_ extra: Bool) -> String {
            """
            name: \(name)
            nodes: [{name: n1}]
            pods:
              - {name: a, node: n1, containers: [{name: s, command: [sleep, infinity]}]}
            \(extra ? "  - {name: b, node: n1, containers: [{name: s, command: [sleep, infinity]}]}" : "")
            """
        }
        try withLab(file(false), name: name) { _ in
            let supervisor = try #require(Int32(try String(contentsOfFile: "/run/lab/\(name)/supervisor.pid", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)))
            kill(supervisor, SIGKILL)
            #expect(eventually(within: 5) { kill(supervisor, 0) != 0 || !isRunning(Int(supervisor)) })
            let changed = try writeLabFile(file(true), name: "\(name)-b")
            defer { try? FileManager.default.removeItem(atPath: changed) }
            let up = try lab("up", changed)
            #expect(up.succeeded && up.stdout.contains("changed in place"), "\(up.stdout)\(up.stderr)")
            for pod in ["a", "b"] {
                let pids = try run(["ip", "netns", "pids", "lab.\(name).pod.\(pod)"]).stdout.split(separator: "\n")
                #expect(pids.count == 1, "pod \(pod) runs \(pids.count) processes")
            }
        }
    }

    /// Two pods swap addresses: the client's neighbour cache, which had each address with the
    /// other pod's MAC, is cleared by the change, so the very next request reaches the pod that
    /// has the address now (a fresh build would have no stale entries either). In static mode
    /// the client's permanent entries are rewritten with the new owners' MACs instead.
    @Test(arguments: ["arp", "static"])
    func podsThatSwapAddressesAreReachedAtOnce(_ neighbours: String) throws {
        let name = uniqueLabName("rec-swap")
        func file(_ swapped: Bool) -> String {
            """
            name: \(name)
            cluster: {neighbours: \(neighbours)}
            nodes: [{name: n1}]
            pods:
              - {name: client, node: n1, ip: 10.244.1.2}
              - {name: a, node: n1, ip: 10.244.1.\(swapped ? 11 : 10), containers: [{name: s, agent: {http: [8080]}}]}
              - {name: b, node: n1, ip: 10.244.1.\(swapped ? 10 : 11), containers: [{name: s, agent: {http: [8080]}}]}
            """
        }
        try withLab(file(false), name: name) { _ in
            let client = "lab.\(name).pod.client"
            #expect(try curl(client, "http://10.244.1.10:8080/hostname").stdout == "a")
            #expect(try curl(client, "http://10.244.1.11:8080/hostname").stdout == "b")
            let changed = try writeLabFile(file(true), name: "\(name)-b")
            defer { try? FileManager.default.removeItem(atPath: changed) }
            let up = try lab("up", changed)
            #expect(up.succeeded && up.stdout.contains("changed in place"), "\(up.stdout)\(up.stderr)")
            let cache = try run(["ip", "-n", client, "neigh", "show"]).stdout
            if neighbours == "arp" {
                #expect(!cache.contains("10.244.1.10 ") && !cache.contains("10.244.1.11 "), "stale entries left: \(cache)")
            } else {
                let macA = try linkMAC("lab.\(name).pod.a", "eth0"), macB = try linkMAC("lab.\(name).pod.b", "eth0")
                #expect(cache.contains("10.244.1.10 dev eth0 lladdr \(macB) PERMANENT"), "\(cache)")
                #expect(cache.contains("10.244.1.11 dev eth0 lladdr \(macA) PERMANENT"), "\(cache)")
            }
            #expect(try curl(client, "http://10.244.1.10:8080/hostname").stdout == "b")
            #expect(try curl(client, "http://10.244.1.11:8080/hostname").stdout == "a")
        }
    }
}
