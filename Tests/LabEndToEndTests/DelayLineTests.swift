import Foundation
import LabKernel
import Testing

/// `link: {delay: …}` on this kernel, measured with ping: netem where the kernel has it, else
/// the delay line (NFQUEUE rules, served by the supervisor). Each direction of the link is held,
/// so a ping across it sees the delay twice. Changed in place by `lab up`, all gone with
/// `lab down`.
@Suite(.enabled(if: isRoot, "needs root"), .serialized) struct DelayLineTests {
    static func labFile(_ name: String, link: String?) -> String {
        """
        name: \(name)
        cluster: {neighbours: arp}
        nodes: [{name: n1}]
        pods:
          - {name: c, node: n1, ip: 10.244.1.12\(link.map { ", link: \($0)" } ?? "")}
          - {name: d, node: n1, ip: 10.244.1.13}
        """
    }

    /// ping's summary: (min, avg, max) in ms and how many were lost; up to three tries, as a
    /// serving thread starved by the parallel suite shows a delay the line keeps when it runs.
    static func measure(_ namespace: String, to address: String = "10.244.1.12", count: Int, interval: String, preload: String = "1",
                        expected: Double, tolerance: Double) throws -> (min: Double, average: Double, max: Double, lost: Int) {
        var last = (min: 0.0, average: 0.0, max: 0.0, lost: -1)
        for _ in 0..<3 {
            let ping = try run(["ip", "netns", "exec", namespace, "ping", "-q", "-l", preload, "-c", String(count), "-i", interval,
                                "-W", "2", address])
            guard let (min, average, max) = ImpairmentTests.rtt(ping.stdout), let lost = ImpairmentTests.lost(ping.stdout) else { continue }
            last = (min, average, max, lost)
            print("delay at \(count) pings every \(interval) s: min/avg/max \(min)/\(average)/\(max) ms, \(lost) lost, \(expected) ms asked")
            if lost == 0, abs(average - expected) <= tolerance { break }
        }
        return last
    }

    @Test func delayIsHeldBothWaysChangedInPlaceAndGone() throws {
        let before = try rootNamespaceSnapshot()
        let name = uniqueLabName("delay")
        let netem = try ImpairmentTests.kernelHasNetem()
        let file = try writeLabFile(Self.labFile(name, link: "{delay: 20ms}"), name: name)
        defer {
            _ = try? lab("down", name)
            try? FileManager.default.removeItem(atPath: file)
        }
        let up = try lab("up", file)
        try #require(up.succeeded, "lab up failed: \(up.stderr)")
        let pod = { (pod: String) in "lab.\(name).pod.\(pod)" }
        let node = "lab.\(name).node.n1"
        let mechanism = netem ? "delay: netem" : "delay: delay line (NFQUEUE)"
        #expect(up.stdout.contains("impaired: pod/c delay 20ms (\(mechanism))"), "\(up.stdout)")
        #expect(try lab("status", name).stdout.contains(mechanism))
        if !netem {
            // One queue per direction, in the pod's node, ahead of conntrack where the rule can
            // tell the packets apart (raw); no bypass: nothing passes undelayed.
            let rules = try run(["ip", "netns", "exec", node, "iptables-save", "-t", "raw"]).stdout
                + run(["ip", "netns", "exec", node, "iptables-save", "-t", "mangle"]).stdout
            #expect(rules.contains("-A LAB-DELAY-PREROUTING -d 10.244.1.12/32 -j NFQUEUE --queue-num 0"), "\(rules)")
            #expect(rules.contains("-A LAB-DELAY-PREROUTING -s 10.244.1.12/32 -i cni0 -j NFQUEUE --queue-num 1"), "\(rules)")
            #expect(rules.contains("-A LAB-IMPAIR-EGRESS -d 10.244.1.12/32 -o cni0 -m conntrack --ctstate DNAT --ctdir ORIGINAL -j NFQUEUE --queue-num 0"),
                    "\(rules)")
            #expect(!rules.contains("bypass"), "\(rules)")
            let queues = try run(["ip", "netns", "exec", node, "cat", "/proc/net/netfilter/nfnetlink_queue"]).stdout
            #expect(queues.split(separator: "\n").count == 2, "\(queues)")
        }

        // 20 ms each way: 40 ms a round trip, within ±2 ms, at 50 and at 1,000 packets/s.
        let slow = try Self.measure(pod("d"), count: 100, interval: "0.02", expected: 40, tolerance: 2)
        #expect(slow.lost == 0 && abs(slow.average - 40) <= 2, "\(slow)")
        let fast = try Self.measure(pod("d"), count: 1000, interval: "0.001", preload: "60", expected: 40, tolerance: 2)
        #expect(fast.lost == 0 && abs(fast.average - 40) <= 2, "\(fast)")
        #expect(fast.min >= 39, "\(fast)")
        // From the delayed pod itself: its own ping sees both directions too (each packet is
        // held before the namespace that receives it stamps its arrival), and at 1,000
        // packets/s its small send buffer does not stall (a held packet has left its socket).
        let outward = try Self.measure(pod("c"), to: "10.244.1.13", count: 1000, interval: "0.001", preload: "60",
                                       expected: 40, tolerance: 2)
        #expect(outward.lost == 0 && abs(outward.average - 40) <= 2, "\(outward)")

        // Changed in place: the same queues, a new delay and a uniform jitter.
        try Self.labFile(name, link: "{delay: 50ms, jitter: 10ms}").write(toFile: file, atomically: true, encoding: .utf8)
        let change = try lab("up", file)
        try #require(change.succeeded, "\(change.stderr)")
        let jittered = try Self.measure(pod("d"), count: 100, interval: "0.01", expected: 100, tolerance: 4)
        #expect(jittered.lost == 0 && abs(jittered.average - 100) <= 4, "\(jittered)")
        #expect(jittered.min >= 79 && jittered.max <= 125, "\(jittered)")

        // Gone: no rule, no queue, no delay.
        try Self.labFile(name, link: nil).write(toFile: file, atomically: true, encoding: .utf8)
        let removal = try lab("up", file)
        try #require(removal.succeeded, "\(removal.stderr)")
        let rules = try run(["ip", "netns", "exec", node, "iptables-save"]).stdout
        #expect(!rules.contains("NFQUEUE") && !rules.contains("LAB-DELAY"), "\(rules)")
        let plain = try Self.measure(pod("d"), count: 20, interval: "0.01", expected: 0, tolerance: 5)
        #expect(plain.lost == 0 && plain.average < 5, "\(plain)")

        let down = try lab("down", name)
        #expect(down.succeeded, "\(down.stderr)")
        try expectNothingLeft(of: name)
        #expect(try rootNamespaceSnapshot() == before, "the root namespace changed")
    }

    /// A delay taken off and put back at once is served (the queue the old line held is free
    /// again, not refused); a queue some other socket holds makes `lab fault impair` fail,
    /// saying so, with nothing left in force.
    /// Only where the delay line serves delays: with netem it is skipped, and says so.
    @Test(.enabled("the delay line serves delays only on a kernel without netem") { try !ImpairmentTests.kernelHasNetem() })
    func aDelayPutBackAtOnceIsServedAndAHeldQueueIsRefused() throws {
        let name = uniqueLabName("delayback")
        try withLab(Self.labFile(name, link: nil), name: name) { _ in
            let node = "lab.\(name).node.n1"
            for _ in 0..<5 {
                #expect(try lab("fault", "impair", "pod/c", "--delay", "20ms", "--lab", name).succeeded)
                #expect(try lab("fault", "clear", "--lab", name).succeeded)
            }
            let impair = try lab("fault", "impair", "pod/c", "--delay", "20ms", "--lab", name)
            #expect(impair.succeeded, "\(impair.stderr)")
            let delayed = try Self.measure("lab.\(name).pod.d", count: 20, interval: "0.02", expected: 40, tolerance: 3)
            #expect(delayed.lost == 0 && abs(delayed.average - 40) <= 3, "\(delayed)")
            #expect(try lab("fault", "clear", "--lab", name).succeeded)

            // Another socket holds queue 0 in the node: the delay is refused and taken back.
            let squatter = try NFQueueDelayLine(in: NetworkNamespace.open(node), queue: 0, delayMicroseconds: 0)
            defer { squatter.close() }
            let refused = try lab("fault", "impair", "pod/c", "--delay", "20ms", "--lab", name)
            #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
            #expect(refused.stderr.contains("could not bind NFQUEUE queue 0 in \(node)"), "\(refused.stderr)")
            #expect(try lab("fault", "list", "--lab", name).stdout.contains("no fault"), "the refused delay is in force")
            let rules = try run(["ip", "netns", "exec", node, "iptables-save"]).stdout
            #expect(!rules.contains("NFQUEUE"), "\(rules)")
            let plain = try Self.measure("lab.\(name).pod.d", count: 10, interval: "0.01", expected: 0, tolerance: 5)
            #expect(plain.lost == 0 && plain.average < 5, "\(plain)")
        }
    }
}
