import Foundation
import Testing

/// What `ip` says is in each namespace of a lab, normalised: interface names, MACs, MTUs,
/// masters, hairpin and state; addresses; routes. Interface indexes are dropped (they differ
/// between two builds and mean nothing to a reader).
func kernelView(of lab: String) throws -> [String: [String]] {
    var view: [String: [String]] = [:]
    for namespace in try namespaces(of: lab) {
        let links = try run(["ip", "-n", namespace, "-d", "-o", "link", "show"]).stdout.split(separator: "\n").map { line in
            var text = String(line)
            text = text.replacingOccurrences(of: #"^\d+: "#, with: "", options: .regularExpression)
            text = text.replacingOccurrences(of: #"@if\d+"#, with: "@peer", options: .regularExpression)
            text = text.replacingOccurrences(of: #"link-netns(id)? \S+"#, with: "", options: .regularExpression)
            // Bridge timers and ids change by the second; keep what a plan decides.
            let kept = ["mtu", "master", "state", "link/ether", "hairpin", "addrgenmode"]
            let words = text.split(separator: " ").map(String.init)
            var summary = [words.first ?? ""]
            for (index, word) in words.enumerated() where kept.contains(word) && index + 1 < words.count {
                summary.append("\(word) \(words[index + 1])")
            }
            return summary.joined(separator: " ")
        }
        let addresses = try run(["ip", "-n", namespace, "-4", "-o", "addr", "show"]).stdout.split(separator: "\n").map {
            String($0).replacingOccurrences(of: #"^\d+: "#, with: "", options: .regularExpression)
                .replacingOccurrences(of: #"\s+valid_lft.*$"#, with: "", options: .regularExpression)
        }
        // IPv6 link-local routes appear when the kernel gets round to it (after DAD), which on a
        // busy host may be after the view is taken: they are not part of any plan.
        let routes = try run(["ip", "-n", namespace, "route", "show", "table", "all"]).stdout.split(separator: "\n").map(String.init)
            .filter { !$0.contains(" fe80::") && !$0.hasPrefix("fe80::") }
        let forward = try run(["ip", "netns", "exec", namespace, "sysctl", "-n", "net.ipv4.ip_forward"]).stdout
        let neighbours = try run(["ip", "-n", namespace, "neigh", "show", "nud", "permanent"]).stdout.split(separator: "\n").map(String.init)
        let fdb = try run(["bridge", "-n", namespace, "fdb", "show"]).stdout.split(separator: "\n").map(String.init)
            .filter { $0.contains(" dst ") }
        view[namespace] = (links + addresses + routes + neighbours + fdb + ["ip_forward=\(forward)"]).sorted()
    }
    return view
}

@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct DryRunScriptTests {
    /// The neighbour mode is named, not `auto`: the script and `lab up` are two moments, and
    /// the host's table may change in between (other labs).
    @Test(arguments: ["routed", "vxlan"], ["arp", "static"])
    func theDryRunScriptBuildsWhatUpBuilds(_ mode: String, _ neighbours: String) throws {
        let name = uniqueLabName("dry")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).yaml")
        let text = fourNodeLab(name).replacingOccurrences(of: "name: \(name)\n",
                                                          with: "name: \(name)\ncluster: {network: \(mode), neighbours: \(neighbours)}\n")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer {
            _ = try? lab("down", name)
            for namespace in (try? namespaces(of: name)) ?? [] { _ = try? run(["ip", "netns", "delete", namespace]) }
            try? FileManager.default.removeItem(at: file)
        }

        // 1. The script, run by bash, with nothing but iproute2 and sysctl.
        let script = try lab("up", "--dry-run", file.path)
        try #require(script.succeeded, "\(script.stderr)")
        let applied = try run(["bash", "-s"], input: script.stdout)
        try #require(applied.succeeded, "the dry-run script failed: \(applied.stderr)")
        let byScript = try kernelView(of: name)
        #expect(byScript.count == 12, "fabric, 4 nodes, the host, 5 pods and the DNS pod")
        let permanent = byScript.values.joined().filter { $0.contains("PERMANENT") && !$0.contains("flannel.1") }
        // rack-1 (node-1, node-2): 2 + 2 × 2; rack-2 (node-3, laptop): the same; rack-3: 1 + 1;
        // pods: node-1's three (two and the DNS pod) 3 + 3 × 3, the others' one each 1 + 1.
        let expected = neighbours == "static" ? 32 : 0
        #expect(permanent.count == expected)
        for namespace in byScript.keys { try run(["ip", "netns", "delete", namespace]) }

        // 2. lab up, over netlink.
        let up = try lab("up", file.path)
        try #require(up.succeeded, "\(up.stderr)")
        let byLab = try kernelView(of: name)
        #expect(byLab.keys.sorted() == byScript.keys.sorted())
        for namespace in byLab.keys.sorted() {
            #expect(byLab[namespace] == byScript[namespace], "\(namespace) differs")
        }
        #expect(try lab("down", name).succeeded)
        try expectNothingLeft(of: name)
    }
}
