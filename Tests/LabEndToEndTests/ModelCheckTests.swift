import Foundation
import Testing

/// The default model check against a real lab: it passes on a healthy lab, and one pod cut off
/// from one node behind lab's back makes it fail on exactly that pod's probes.
@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct ModelCheckTests {
    static func labFile(_ name: String) -> String {
        var text = "name: \(name)\nnodes: [{name: node-1}, {name: node-2}, {name: node-3}]\npods:\n"
        for pod in 1...12 {
            text += "  - {name: pod-\(pod), node: node-\((pod - 1) % 3 + 1), containers: [{name: a, agent: {http: [8080]}}]}\n"
        }
        return text
    }

    @Test func aPodCutOffFromOneNodeFailsTheCoveringCheck() throws {
        let name = uniqueLabName("cover")
        try withLab(Self.labFile(name), name: name) { _ in
            let healthy = try lab("verify", name)
            #expect(healthy.status == 0, "\(healthy.stdout)\(healthy.stderr)")
            // The file's 12 and the DNS pod.
            #expect(healthy.stdout.contains("13 pods: "), "\(healthy.stdout)")
            #expect(healthy.stdout.contains("of 156 pod pairs, every pod to every node; --all-pairs for all"), "\(healthy.stdout)")

            // Behind lab's back: node-3 drops everything pod-1 (on node-1) sends through it.
            let pod1 = try ipv4Address(in: "lab.\(name).pod.pod-1")
            try run(["ip", "netns", "exec", "lab.\(name).node.node-3", "iptables", "-I", "FORWARD", "-s", pod1, "-j", "DROP"])
            let cut = try lab("verify", name)
            #expect(cut.status == 1, "\(cut.stdout)")
            let failed = cut.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
            #expect(!failed.isEmpty)
            let nodeThreePods = Set((1...12).filter { ($0 - 1) % 3 == 2 }.map { "pod-\($0)" })
            for line in failed {
                let names = line.split(whereSeparator: { $0 == " " }).map(String.init)
                #expect(names.contains("pod-1"), "only pod-1's probes fail: \(line)")
                #expect(names.contains { nodeThreePods.contains($0) }, "and only those with node-3's pods: \(line)")
            }
        }
    }
}
