import Foundation
import LabAddress
import LabKernel
import LabPlan
import LabRuntime
import LabSpec
import Testing

/// The batched, two-thread apply against the one-request-at-a-time apply
/// (`LAB_APPLY_UNBATCHED=1`): the same lab, down to every link, address, route, neighbour, FDB
/// entry, sysctl and firewall rule; and failures inside a batch reported and rolled back.
@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct BatchedApplyTests {
    /// The four-node lab with a service, so every node also loads firewall rules.
    static func labWithService(_ name: String, mode: String, neighbours: String = "arp") -> String {
        fourNodeLab(name).replacingOccurrences(of: "name: \(name)\n", with: "name: \(name)\ncluster: {network: \(mode), neighbours: \(neighbours)}\n")
            + "\nservices:\n  - {name: web, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n"
    }

    /// `kernelView` plus each node's nat and filter rules (counters dropped), and every
    /// namespace's sysctls as `sysctl` reads them (the batched apply skips writing a value a new
    /// namespace already has: what is read must not differ), `eth0`'s own where it has one.
    static func fullView(of lab: String) throws -> [String: [String]] {
        var view = try kernelView(of: lab)
        for namespace in view.keys {
            var keys = ["net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter",
                        "net.ipv4.conf.all.forwarding", "net.ipv6.conf.default.addr_gen_mode"]
            if !namespace.contains(".fabric") { keys += ["net.ipv4.conf.eth0.rp_filter", "net.ipv4.conf.eth0.forwarding"] }
            if namespace.contains(".node.") || namespace.contains(".fabric") { keys.append("net.bridge.bridge-nf-call-iptables") }
            let read = try run(["ip", "netns", "exec", namespace, "sysctl"] + keys)
            view[namespace]! += read.stdout.split(separator: "\n").map { "sysctl " + $0 }
        }
        for namespace in view.keys where namespace.contains(".node.") {
            let rules = try run(["ip", "netns", "exec", namespace, "iptables-save"]).stdout.split(separator: "\n")
                .filter { !$0.hasPrefix("#") }
                .map { String($0).replacingOccurrences(of: #"\[\d+:\d+\]"#, with: "", options: .regularExpression) }
            view[namespace]! += rules
        }
        return view
    }

    /// The neighbour mode is named: `auto` may choose differently for the two builds when
    /// the host's table changes in between (other labs); static's entries are compared too.
    @Test(arguments: ["routed", "vxlan"], ["arp", "static"])
    func batchedAndOneByOneBuildTheSameLab(_ mode: String, _ neighbours: String) throws {
        let name = uniqueLabName("batch")
        let path = try writeLabFile(Self.labWithService(name, mode: mode, neighbours: neighbours), name: name)
        defer {
            _ = try? lab("down", name)
            try? FileManager.default.removeItem(atPath: path)
        }

        let oneByOne = try lab("up", path, environment: environment(adding: ["LAB_APPLY_UNBATCHED": "1"]))
        try #require(oneByOne.succeeded, "\(oneByOne.stderr)")
        let reference = try Self.fullView(of: name)
        #expect(reference.count == 12, "11 and the DNS pod's")
        #expect(reference.values.contains { $0.contains { $0.contains("KUBE-SERVICES") } }, "the firewall rules are compared too")
        #expect(try lab("down", name).succeeded)
        try expectNothingLeft(of: name)

        let batched = try lab("up", path)
        try #require(batched.succeeded, "\(batched.stderr)")
        let view = try Self.fullView(of: name)
        for case .setSysctl(let namespace, let key, let value) in try LabController.prepare(text: Self.labWithService(name, mode: mode, neighbours: neighbours), file: path).plan.operations {
            #expect(view[namespace]?.contains("sysctl \(key) = \(value)") == true, "\(namespace): \(key) is not \(value)")
        }
        #expect(view.keys.sorted() == reference.keys.sorted())
        for namespace in reference.keys.sorted() {
            #expect(view[namespace] == reference[namespace], "\(namespace) differs")
        }
        #expect(try ping(from: "lab.\(name).pod.a1", to: "10.244.4.40"), "a1 → d1 across networks")
        #expect(try lab("down", name).succeeded)
        try expectNothingLeft(of: name)
    }

    /// A fault injected between two operations of one node's batch — after the veth, before
    /// its hairpin — and before a firewall load that already runs in the background: exit 1,
    /// the one error, everything removed.
    @Test func aFaultInsideABatchOrBeforeAFirewallLoadIsReportedAndRolledBack() throws {
        let name = uniqueLabName("batchf")
        let text = Self.labWithService(name, mode: "routed")
        let path = try writeLabFile(text, name: name)
        defer {
            _ = try? lab("down", name)
            try? FileManager.default.removeItem(atPath: path)
        }
        let operations = try LabController.prepare(text: text, file: path).plan.operations
        let insideBatch = try #require(operations.indices.first { index in
            if case .setHairpin = operations[index], case .addVeth = operations[index - 1] { return true }
            return false
        })
        let lastFirewall = try #require(operations.indices.last { if case .loadFirewall = operations[$0] { true } else { false } })
        for index in [insideBatch, lastFirewall] {
            let failed = try lab("up", path, environment: environment(adding: ["LAB_INJECT_FAULT": "\(index)"]))
            #expect(failed.status == 1, "LAB_INJECT_FAULT=\(index): exit \(failed.status)")
            let lines = failed.stderr.split(separator: "\n").filter { !$0.contains("loading the br_netfilter") }
            #expect(lines.count == 1 && lines[0].contains("add bridge \"lab-injected-fault-name\""), "\(lines)")
            try expectNothingLeft(of: name)
        }
    }

    /// A request the kernel refuses in the middle of a batch (a link that does not exist,
    /// between two that succeed): the error names that request, its namespace and errno, and
    /// every namespace the apply made is in `created` for the rollback.
    @Test func aKernelErrorInTheMiddleOfABatchNamesItsOperation() throws {
        let name = uniqueLabName("batchk")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-state").path
        let state = LabState(lab: name, root: root)
        try FileManager.default.createDirectory(atPath: state.directory, withIntermediateDirectories: true)
        let first = "lab.\(name).node.one", second = "lab.\(name).node.two"
        defer {
            _ = try? Teardown.remove(namespaces: Teardown.namespaces(of: name, journal: state.journal()))
            try? FileManager.default.removeItem(atPath: root)
        }
        let mac = MACAddress(bytes: [0x02, 0x42, 0, 0, 0, 1])
        let plan = Plan(lab: name, operations: [
            .createNetns(first), .createNetns(second),
            .setUp(netns: first, link: "lo"), .setUp(netns: second, link: "lo"),
            .addBridge(netns: second, name: "br-a", mac: mac, mtu: 1500),
            .setUp(netns: second, link: "br-missing"),
            .addBridge(netns: second, name: "br-b", mac: mac, mtu: 1500),
            .setUp(netns: second, link: "br-a"),
        ])
        let applier = Applier(journal: state.journal(), rulesDirectory: "\(state.directory)/rules")
        defer { applier.close() }
        #expect {
            try applier.apply(plan)
        } throws: { error in
            guard let error = error as? KernelError else { return false }
            return error.operation == "set link up" && error.object == "\"br-missing\"" && error.namespace == second
                && error.errno == ENODEV
        }
        #expect(applier.created == [first, second])
        #expect(state.journal().namespaces() == [first, second])
        #expect(try run(["ip", "-n", second, "-o", "link", "show", "br-a"]).succeeded)
    }
}
