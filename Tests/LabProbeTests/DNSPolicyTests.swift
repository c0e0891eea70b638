import Foundation
import Glibc
import LabAddress
@testable import LabDNS
import LabKernel
import LabPlan
import LabSpec
@testable import LabProbe
import Testing

/// Lookups from inside a network namespace of the test's own, to the DNS server serving port 53
/// there, and what a firewall rule against DNS does to them: the probe says the query timed
/// out or was rejected, never that the name does not exist.
@Suite(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/iptables"), "needs root and iptables"),
       .serialized)
struct DNSPolicyTests {
    static let zone = ClusterZone(ClusterDNSInput(services: [
        .init(name: "web", namespace: "x", clusterIP: IPv4Address(10, 96, 0, 20), ports: [.init(name: "http", protocol: .tcp, port: 80)]),
    ]))

    /// A namespace with `lo` up and the server on 127.0.0.1:53 in it, for the duration of `body`.
    func withPodNamespace(_ body: (NetworkNamespace, String) throws -> Void) throws {
        let name = "labtest-dnsprobe-\(getpid())"
        let namespace = try NetworkNamespace.create(name)
        defer { try? NetworkNamespace.delete(name) }
        try RouteSocket(in: namespace).submit(.setUp(link: "lo"))
        try DNSProbeTests.withDNS(Self.zone, port: 53, netns: namespace) { _ in try body(namespace, name) }
    }

    func iptables(_ netns: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", netns, "iptables"] + arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("iptables \(arguments) exited \(process.terminationStatus)") }
    }

    func task(_ action: ProbeAction, _ name: String, in namespace: NetworkNamespace, expect: ProbeExpectation = ProbeExpectation()) -> ProbeTask {
        let lookup = NameLookup(name: name, resolver: .clusterFirst(namespace: "x", nameserver: "127.0.0.1"),
                                server: ProbeEndpoint(address: loopback, port: 53), port: 80)
        let endpoint: ProbeEndpoint? = if case .dns = action { lookup.server } else { nil }
        return ProbeTask(name: name, from: "pod", to: name, namespace: namespace, endpoint: endpoint, action: action,
                         expectation: expect, timeout: .milliseconds(500), retries: 0, lookup: lookup)
    }

    @Test func aRuleDenyingDNSMakesTheLookupTimeOutOrBeRejected() throws {
        try withPodNamespace { namespace, netns in
            // Open: the name resolves from inside the namespace.
            let open = probe(task(.dns(name: "web", type: .a), "web", in: namespace, expect: ProbeExpectation(answers: ["10.96.0.20"])))
            #expect(open.passed, "\(open.explanation ?? "")")

            // Dropped on the way in, as a NetworkPolicy drops it on the node: the query times out,
            // and says which query.
            try iptables(netns, ["-A", "INPUT", "-p", "udp", "--dport", "53", "-j", "DROP"])
            let dropped = probe(task(.tcp, "web", in: namespace))
            #expect(dropped.tries.first?.outcome == .timeout)
            #expect(dropped.explanation?.hasSuffix("the DNS query for web.x.svc.cluster.local. A to 127.0.0.1:53 got no answer") == true,
                    "\(dropped.explanation ?? "")")
            #expect(probe(task(.dns(name: "web", type: .a), "web", in: namespace, expect: ProbeExpectation(reach: false))).passed)

            // Rejected (an ICMP port unreachable): refused at once, not a timeout.
            try iptables(netns, ["-R", "INPUT", "1", "-p", "udp", "--dport", "53", "-j", "REJECT"])
            let rejected = probe(task(.tcp, "web", in: namespace))
            #expect(rejected.tries.first?.outcome == .refused)
            #expect(rejected.explanation?.contains("the DNS query for web.x.svc.cluster.local. A to 127.0.0.1:53 was rejected") == true,
                    "\(rejected.explanation ?? "")")
            #expect(rejected.elapsedMilliseconds < 400)
        }
    }
}
