import Foundation
@testable import LabKernel
import Testing
@testable import LabRuntime

/// A lab's layout as the test knows it from the file it wrote: which pods are on which node,
/// which machines on which network.
struct NeighbourLayout {
    var lab: String
    /// Node → its pods.
    var pods: [String: [String]]
    /// Network → its bridge in the fabric, and its nodes and hosts (`node.n1`, `host.h1`).
    var networks: [String: (bridge: String, machines: [String])]

    func namespace(_ object: String) -> String { "lab.\(lab).\(object)" }

    /// Every permanent entry `static` mode must have made, worked out from what `ip` says the
    /// addresses and MACs are: `[namespace: ["ADDRESS dev LINK lladdr MAC"]]`.
    func expectedEntries() throws -> [String: Set<String>] {
        var expected: [String: Set<String>] = [:]
        func add(_ namespace: String, _ address: String, _ link: String, _ mac: String) {
            expected[namespace, default: []].insert("\(address) dev \(link) lladdr \(mac)")
        }
        // Each interface is asked once (`ip` is a process each time; pods × peers of them took
        // minutes at 150 pods).
        var addresses: [String: String] = [:], macs: [String: String] = [:]
        func ipv4Address(in namespace: String, link: String = "eth0") throws -> String {
            if let known = addresses["\(namespace) \(link)"] { return known }
            let address = try LabEndToEndTests.ipv4Address(in: namespace, link: link)
            addresses["\(namespace) \(link)"] = address
            return address
        }
        func linkMAC(_ namespace: String, _ link: String) throws -> String {
            if let known = macs["\(namespace) \(link)"] { return known }
            let mac = try LabEndToEndTests.linkMAC(namespace, link)
            macs["\(namespace) \(link)"] = mac
            return mac
        }
        let fabric = namespace("fabric")
        for (_, network) in networks {
            let gateway = try ipv4Address(in: fabric, link: network.bridge), gatewayMAC = try linkMAC(fabric, network.bridge)
            for machine in network.machines {
                let address = try ipv4Address(in: namespace(machine)), mac = try linkMAC(namespace(machine), "eth0")
                add(fabric, address, network.bridge, mac)
                add(namespace(machine), gateway, "eth0", gatewayMAC)
                for other in network.machines where other != machine {
                    add(namespace(machine), try ipv4Address(in: namespace(other)), "eth0", try linkMAC(namespace(other), "eth0"))
                }
            }
        }
        for (node, pods) in pods {
            let nodeNamespace = namespace("node.\(node)")
            let gateway = try ipv4Address(in: nodeNamespace, link: "cni0"), gatewayMAC = try linkMAC(nodeNamespace, "cni0")
            for pod in pods {
                let podNamespace = namespace("pod.\(pod)")
                add(nodeNamespace, try ipv4Address(in: podNamespace), "cni0", try linkMAC(podNamespace, "eth0"))
                add(podNamespace, gateway, "eth0", gatewayMAC)
                for other in pods where other != pod {
                    add(podNamespace, try ipv4Address(in: namespace("pod.\(other)")), "eth0", try linkMAC(namespace("pod.\(other)"), "eth0"))
                }
            }
        }
        return expected
    }
}

/// `ip -n NS link show LINK`'s MAC.
func linkMAC(_ namespace: String, _ link: String) throws -> String {
    let text = try run(["ip", "-n", namespace, "-o", "link", "show", link]).stdout
    let words = text.split(separator: " ")
    guard let index = words.firstIndex(of: "link/ether"), index + 1 < words.count else { return "?" }
    return String(words[index + 1])
}

/// The namespace's neighbour entries as `ip -n NS neigh` lists them: `ADDRESS dev LINK lladdr
/// MAC` → state (`PERMANENT`, `REACHABLE`, …). flannel's own entries are left out.
func neighbourEntries(in namespace: String) throws -> [String: String] {
    var entries: [String: String] = [:]
    for line in try run(["ip", "-n", namespace, "-4", "neigh", "show"]).stdout.split(separator: "\n") {
        let words = line.split(separator: " ").map(String.init)
        guard words.count >= 5, words[1] == "dev", words[2] != "flannel.1" else { continue }
        if words[3] == "lladdr" {
            entries[words[0...4].joined(separator: " ")] = words.last
        } else {
            entries[words[0...2].joined(separator: " ")] = words.last
        }
    }
    return entries
}

/// The permanent entries of every namespace of the lab (flannel's left out).
func permanentEntries(of lab: String) throws -> [String: Set<String>] {
    var result: [String: Set<String>] = [:]
    for namespace in try namespaces(of: lab) {
        let permanent = try neighbourEntries(in: namespace).filter { $0.value == "PERMANENT" }.keys
        if !permanent.isEmpty { result[namespace] = Set(permanent) }
    }
    return result
}

/// The host's neighbour table size now (`entries` of /proc/net/stat/arp_cache), read with awk,
/// not with lab's parser.
func hostNeighbourEntries() throws -> Int {
    let text = try run(["awk", "NR == 2 { print $1 }", "/proc/net/stat/arp_cache"]).stdout
    return Int(text.trimmingCharacters(in: .whitespacesAndNewlines), radix: 16) ?? -1
}

/// Compares what the kernel holds with what it must hold, namespace by namespace, naming every
/// stale and every missing entry.
func expectSameEntries(_ actual: [String: Set<String>], _ expected: [String: Set<String>], _ context: String,
                       sourceLocation: SourceLocation = #_sourceLocation) {
    for namespace in Set(actual.keys).union(expected.keys).sorted() {
        let stale = actual[namespace, default: []].subtracting(expected[namespace, default: []])
        let missing = expected[namespace, default: []].subtracting(actual[namespace, default: []])
        #expect(stale.isEmpty, "\(context): stale in \(namespace): \(stale.sorted())", sourceLocation: sourceLocation)
        #expect(missing.isEmpty, "\(context): missing in \(namespace): \(missing.sorted())", sourceLocation: sourceLocation)
    }
}

@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct StaticNeighbourTests {
    /// Two networks, three nodes, a host, seven pods (and the cluster DNS's pod on n1).
    static func file(_ name: String, network: String = "routed", neighbours: String = "static", podC: String = "n2") -> String {
        """
        name: \(name)
        cluster: {network: \(network), neighbours: \(neighbours)}
        networks:
          - {name: rack-1, cidr: 192.168.1.0/24}
          - {name: rack-2, cidr: 172.16.0.0/16}
        nodes:
          - {name: n1, network: rack-1}
          - {name: n2, network: rack-1}
          - {name: n3, network: rack-2}
        hosts:
          - {name: h1, network: rack-1}
        pods:
          - {name: a, node: n1}
          - {name: b, node: n1}
          - {name: c, node: \(podC)}
          - {name: d, node: n2}
          - {name: e, node: n2}
          - {name: f, node: n3}
          - {name: g, node: n3, ip: 10.244.3.40}
        """
    }

    static func layout(_ name: String, podC: String = "n2") -> NeighbourLayout {
        // The DNS pod runs on the first node like any pod there.
        var pods: [String: [String]] = ["n1": ["a", "b", "coredns"], "n2": ["d", "e"], "n3": ["f", "g"]]
        pods[podC, default: []].append("c")
        return NeighbourLayout(lab: name, pods: pods,
                               networks: ["rack-1": ("br-rack-1", ["node.n1", "node.n2", "host.h1"]),
                                          "rack-2": ("br-rack-2", ["node.n3"])])
    }

    @Test(arguments: ["routed", "vxlan"])
    func staticModeWritesEveryEntryPermanentWithThePeersRealMAC(_ network: String) throws {
        let name = uniqueLabName("nstatic")
        try withLab(Self.file(name, network: network), name: name) { _ in
            let expected = try Self.layout(name).expectedEntries()
            // rack-1 (n1, n2, h1): 3 + 3 × 3; rack-2 (n3): 1 + 1; pods 3 (coredns too), 3 and 2 per
            // node, n(n + 1) each: 12 + 12 + 6.
            #expect(expected.values.map(\.count).reduce(0, +) == 44)
            expectSameEntries(try permanentEntries(of: name), expected, "after lab up")
            if network == "vxlan" {
                // flannel's own entries, as they were: one per remote node.
                let flannel = try run(["ip", "-n", "lab.\(name).node.n1", "neigh", "show", "dev", "flannel.1"]).stdout
                #expect(flannel.split(separator: "\n").count == 2 && flannel.contains("PERMANENT"), "\(flannel)")
            }
            // Traffic now resolves nothing: a's table holds only what lab wrote.
            #expect(try ping(from: "lab.\(name).pod.a", to: try ipv4Address(in: "lab.\(name).pod.b")))
            #expect(try ping(from: "lab.\(name).pod.a", to: try ipv4Address(in: "lab.\(name).pod.f")))
            #expect(try ping(from: "lab.\(name).host.h1", to: try ipv4Address(in: "lab.\(name).node.n3")))
            for namespace in ["pod.a", "pod.b", "pod.f", "node.n1", "node.n3", "host.h1", "fabric"].map({ "lab.\(name).\($0)" }) {
                let learned = try neighbourEntries(in: namespace).filter { $0.value != "PERMANENT" }
                #expect(learned.isEmpty, "\(namespace) resolved with ARP: \(learned)")
            }
            let status = try lab("status", name)
            #expect(status.stdout.contains("neighbours: static, 44 permanent entries"), "\(status.stdout)")
        }
    }

    @Test func movingAPodToAnotherNodeLeavesNoStaleEntryAnywhere() throws {
        let name = uniqueLabName("nmove")
        try withLab(Self.file(name), name: name) { path in
            let oldAddress = try ipv4Address(in: "lab.\(name).pod.c")
            try Self.file(name, podC: "n3").write(toFile: path, atomically: true, encoding: .utf8)
            let up = try lab("up", path)
            #expect(up.succeeded && up.stdout.contains("changed in place"), "\(up.stdout)\(up.stderr)")
            let newAddress = try ipv4Address(in: "lab.\(name).pod.c")
            #expect(newAddress != oldAddress)
            expectSameEntries(try permanentEntries(of: name), try Self.layout(name, podC: "n3").expectedEntries(), "after the move")
            // Nobody still holds the old address.
            for namespace in try namespaces(of: name) {
                #expect(try neighbourEntries(in: namespace).keys.allSatisfy { !$0.hasPrefix("\(oldAddress) ") }, "\(namespace) keeps \(oldAddress)")
            }
            #expect(try ping(from: "lab.\(name).pod.f", to: newAddress))
            #expect(try ping(from: "lab.\(name).pod.a", to: newAddress))

            // Removed and added pods, with a changed host address, likewise.
            let changed = Self.file(name, podC: "n3")
                .replacingOccurrences(of: "  - {name: d, node: n2}\n", with: "")
                .replacingOccurrences(of: "  - {name: h1, network: rack-1}", with: "  - {name: h1, network: rack-1, ip: 192.168.1.99}")
                + "\n  - {name: x, node: n1}\n"
            try changed.write(toFile: path, atomically: true, encoding: .utf8)
            let again = try lab("up", path)
            #expect(again.succeeded && again.stdout.contains("changed in place"), "\(again.stdout)\(again.stderr)")
            var layout = Self.layout(name, podC: "n3")
            layout.pods["n2"] = ["e"]
            layout.pods["n1"] = ["a", "b", "coredns", "x"]
            expectSameEntries(try permanentEntries(of: name), try layout.expectedEntries(), "after removing d, adding x, moving h1")

            // The same file again changes nothing, and keeps the mode.
            let same = try lab("up", path)
            #expect(same.stdout.contains("nothing to do") && same.stdout.contains("neighbours: static"), "\(same.stdout)")
        }
    }

    @Test(arguments: ["routed", "vxlan"])
    func arpModeAddsNoPermanentEntryBeyondFlannels(_ network: String) throws {
        let name = uniqueLabName("narp")
        try withLab(Self.file(name, network: network, neighbours: "arp"), name: name) { _ in
            #expect(try permanentEntries(of: name).isEmpty)
            var flannel = 0
            for namespace in try namespaces(of: name) {
                let text = try run(["ip", "-n", namespace, "neigh", "show", "nud", "permanent"]).stdout
                flannel += text.split(separator: "\n").filter { $0.contains("dev flannel.1") }.count
            }
            #expect(flannel == (network == "vxlan" ? 3 * 2 : 0))
            #expect(try ping(from: "lab.\(name).pod.a", to: try ipv4Address(in: "lab.\(name).pod.b")))
            #expect(try lab("status", name).stdout.contains("neighbours: arp, resolved with ARP"))
        }
    }

    /// The `neighbours:` line of `lab up` (or, as a comment, of its dry run): the mode and the
    /// numbers it was chosen by.
    static func decision(in output: String) -> (mode: String, need: Int, limit: Int, inUse: Int)? {
        let pattern = #"neighbours: (arp|static) \(the lab may need ([\d,]+) entries; the host's table holds ([\d,]+), ([\d,]+) in use\)"#
        guard let match = output.range(of: pattern, options: .regularExpression) else { return nil }
        let line = String(output[match])
        let numbers = line.split(whereSeparator: { !$0.isNumber && $0 != "," }).map { Int($0.replacingOccurrences(of: ",", with: "")) ?? -1 }
            .filter { $0 >= 0 }
        guard numbers.count == 3 else { return nil }
        return (line.contains("neighbours: arp") ? "arp" : "static", numbers[0], numbers[1], numbers[2])
    }

    /// `auto` decides by the numbers it prints (the host's table is shared with whatever else
    /// runs, so the test checks the rule, not a fixed answer), builds what it says, keeps it for
    /// the unchanged file, and a lab that was static stays static.
    @Test func autoDecidesByTheNumbersItPrintsAndKeepsItsChoice() throws {
        let name = uniqueLabName("nauto")
        let path = try writeLabFile(Self.file(name, neighbours: "auto"), name: name)
        defer {
            _ = try? lab("down", name)
            try? FileManager.default.removeItem(atPath: path)
        }
        let dry = try lab("up", "--dry-run", path)
        let planned = try #require(Self.decision(in: dry.stdout), "\(dry.stdout.prefix(600))")
        #expect(planned.need == 44)
        #expect(planned.mode == (planned.need + planned.inUse <= planned.limit / 2 ? "arp" : "static"))
        #expect(dry.stdout.contains("nud permanent") == (planned.mode == "static"))

        let up = try lab("up", path)
        let chosen = try #require(Self.decision(in: up.stdout), "\(up.stdout)")
        #expect(chosen.mode == (chosen.need + chosen.inUse <= chosen.limit / 2 ? "arp" : "static"))
        let entries = try permanentEntries(of: name)
        if chosen.mode == "arp" {
            #expect(entries.isEmpty)
        } else {
            expectSameEntries(entries, try Self.layout(name).expectedEntries(), "auto chose static")
        }
        let status = try lab("status", name, "--output", "json")
        #expect(status.stdout.contains("\"neighbours\" : \"\(chosen.mode)\"") && status.stdout.contains("\"neighbourSetting\" : \"auto\""),
                "\(status.stdout)")
        // The unchanged file: nothing to change, whatever the host's table holds now.
        let same = try lab("up", "--dry-run", path)
        #expect(same.stdout.contains("# nothing: the running lab already is what the file says"), "\(same.stdout)")
        let again = try lab("up", path)
        #expect(again.stdout.contains("nothing to do") && again.stdout.contains("neighbours: \(chosen.mode) (as the lab was built"),
                "\(again.stdout)")

        try Self.file(name, neighbours: "static").write(toFile: path, atomically: true, encoding: .utf8)
        let statik = try lab("up", path)
        #expect(statik.stdout.contains(chosen.mode == "arp" ? "changed in place" : "neighbours: static (cluster.neighbours; 44 permanent entries)"),
                "\(statik.stdout)")
        expectSameEntries(try permanentEntries(of: name), try Self.layout(name).expectedEntries(), "after switching to static")
        // Back to auto: a static lab stays static.
        try Self.file(name, neighbours: "auto").write(toFile: path, atomically: true, encoding: .utf8)
        let back = try lab("up", path)
        #expect(back.stdout.contains("neighbours: static (auto, kept from when the lab was built"), "\(back.stdout)")
        expectSameEntries(try permanentEntries(of: name), try Self.layout(name).expectedEntries(), "after going back to auto")

        #expect(try lab("down", name).succeeded)
        try expectNothingLeft(of: name)
    }

    /// 40 pods on 2 nodes (and the DNS pod on n1) may need 888 entries, more than half of any
    /// default table on their own: `auto` makes them static. Built, not used: no traffic.
    @Test func autoMakesALabThatCannotFitStatic() throws {
        let name = uniqueLabName("nbig")
        var text = "name: \(name)\nnodes: [{name: n1}, {name: n2}]\npods:\n"
        for pod in 0..<40 { text += "  - {name: p\(pod), node: n\(pod % 2 + 1)}\n" }
        let limit = try #require(Int(try String(contentsOfFile: "/proc/sys/net/ipv4/neigh/default/gc_thresh3", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        try #require(limit < 2 * 888, "this host's table is large enough for arp")
        let path = try writeLabFile(text, name: name)
        defer {
            _ = try? lab("down", name)
            try? FileManager.default.removeItem(atPath: path)
        }
        let up = try lab("up", path)
        let chosen = try #require(Self.decision(in: up.stdout), "\(up.stdout)")
        // The bridge 2, each node 2; n1's 21 pods (the DNS pod too) 21 × 22, n2's 20 × 21.
        #expect(chosen.mode == "static" && chosen.need == 888)
        #expect(try permanentEntries(of: name).values.map(\.count).reduce(0, +) == 888)
        #expect(try lab("down", name).succeeded)
        try expectNothingLeft(of: name)
    }

    /// 150 pods on 3 nodes, every pod pinging every other (22,350 pings): with permanent entries
    /// the host's table does not grow, where ARP would have needed about 7,500 entries. Guarded:
    /// the traffic starts only once every entry is known to be there, so a broken static mode
    /// cannot fill the host's table.
    @Test func allPairsTrafficInStaticModeLeavesTheHostsTableAlone() throws {
        let name = uniqueLabName("nmesh")
        let nodes = 3, pods = 150
        var text = "name: \(name)\ncluster: {neighbours: static}\nnodes:\n"
        for node in 1...nodes { text += "  - {name: n\(node)}\n" }
        text += "pods:\n"
        for pod in 0..<pods { text += "  - {name: p\(pod), node: n\(pod % nodes + 1)}\n" }
        text += """
        probes:
          - name: mesh
            matrix: {from: "*", to: "*"}
            ping: {count: 1}
            timeout: 1s

        """
        try withLab(text, name: name) { _ in
            var layout = NeighbourLayout(lab: name, pods: [:], networks: ["underlay": ("br-underlay", (1...nodes).map { "node.n\($0)" })])
            for pod in 0..<pods { layout.pods["n\(pod % nodes + 1)", default: []].append("p\(pod)") }
            layout.pods["n1", default: []].append("coredns")
            let expected = try layout.expectedEntries()
            // The bridge 3, each node 3; per node, cni0 and each pod one per pod there: 51 on n1
            // (the DNS pod too), 50 on the others.
            let total: Int = expected.values.map(\.count).reduce(0, +)
            #expect(total == 12 + 51 * 52 + 2 * 50 * 51)
            let actual = try permanentEntries(of: name)
            expectSameEntries(actual, expected, "before the traffic")
            try #require(actual == expected, "static entries missing: no all-pairs traffic, which would fill the host's table")

            let before = try hostNeighbourEntries()
            let verify = try lab("verify", name)
            let after = try hostNeighbourEntries()
            #expect(verify.succeeded, "\(verify.stdout.suffix(2000))")
            #expect(verify.stdout.hasSuffix("\(pods * (pods - 1)) passed, 0 failed\n"), "\(verify.stdout.suffix(500))")
            // What this lab added to the host's table beyond its permanent entries: nothing (ARP
            // would have added thousands). Counted in the lab's own namespaces, since other
            // tests on the host come and go; the host's count is printed for the record.
            var learned: [String: [String]] = [:]
            for namespace in try namespaces(of: name) {
                let entries = try neighbourEntries(in: namespace).filter { $0.value != "PERMANENT" }
                if !entries.isEmpty { learned[namespace] = entries.keys.sorted() }
            }
            #expect(learned.isEmpty, "resolved with ARP: \(learned)")
            print("StaticNeighbourTests: the host's table held \(before) entries before the \(pods * (pods - 1)) pings, \(after) after")
        }
    }

    @Test func doctorShowsTheThresholdsTheEntriesAndTheOverflows() throws {
        let doctor = try lab("doctor")
        #expect(doctor.stdout.contains("gc_thresh1 ") && doctor.stdout.contains("gc_thresh3 "), "\(doctor.stdout)")
        #expect(doctor.stdout.contains("neighbour entries") && doctor.stdout.contains("neighbour overflows"))
    }
}

/// `lab doctor`'s view of the host's neighbour table, with the counters injected.
@Suite struct DoctorNeighbourTableTests {
    let limits = NeighbourTableLimits(gcThresh1: 128, gcThresh2: 512, gcThresh3: 1024)

    @Test func aQuietTableIsFine() {
        let findings = Doctor.neighbourTable(limits: limits, counters: NeighbourTableCounters(entries: 40, tableFulls: 0))
        #expect(findings.map(\.level) == [.ok, .ok, .ok])
        #expect(findings[0].detail == "gc_thresh1 128, gc_thresh2 512, gc_thresh3 1,024 (one table for every namespace of the host)")
        #expect(findings[1].detail.hasPrefix("40 in use"))
        #expect(findings[2].detail.hasPrefix("0 "))
    }

    @Test func entriesNearTheLimitAndPastOverflowsAreFlaggedWithTheWayOut() {
        let findings = Doctor.neighbourTable(limits: limits, counters: NeighbourTableCounters(entries: 1013, tableFulls: 47))
        #expect(findings.map(\.level) == [.ok, .warning, .warning])
        #expect(findings[1].detail.contains("1,013 in use") && findings[1].detail.contains("near gc_thresh3 1,024"))
        #expect(findings[1].detail.contains("cluster.neighbours: static") && findings[1].detail.contains("net.ipv4.neigh.default.gc_thresh3"))
        #expect(findings[2].detail.hasPrefix("the table was full 47 times since boot"))
        #expect(Doctor.neighbourTable(limits: limits, counters: NeighbourTableCounters(entries: 767, tableFulls: 0))[1].level == .ok)
        #expect(Doctor.neighbourTable(limits: limits, counters: NeighbourTableCounters(entries: 768, tableFulls: 0))[1].level == .warning)
    }

    @Test func anUnreadableTableIsAWarningNotAFailure() {
        #expect(Doctor.neighbourTable(limits: nil, counters: nil).map(\.level) == [.warning])
        #expect(Doctor.neighbourTable(limits: limits, counters: nil).map(\.level) == [.ok, .warning])
    }
}
