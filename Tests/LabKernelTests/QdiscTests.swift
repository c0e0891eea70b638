import Glibc
import LabAddress
import LabKernel
import Testing

/// Root qdiscs applied for real, in throwaway namespaces, and read back with `tc`.
@Suite(.enabled(if: isRoot, "needs root")) struct QdiscTests {
    @Test func tokenBucketIsReplacedInPlaceAndDeleted() throws {
        try withTestNamespaces("a", "b") { namespaces in
            let (a, b) = (namespaces[0], namespaces[1])
            let socket = try RouteSocket(in: a)
            try socket.submit(.addVeth(name: "veth-a", mac: nil, mtu: 1500, peerName: "veth-b", peerMAC: nil, peerNetns: b, up: true))
            try socket.submit(.replaceTokenBucket(link: "veth-a", rateBytesPerSecond: 1_250_000, burstBytes: 12_500, limitBytes: 75_000))
            let shown = try run("tc", "-n", a.name, "-s", "qdisc", "show", "dev", "veth-a").output
            #expect(shown.contains("qdisc tbf"), "\(shown)")
            #expect(shown.contains("rate 10Mbit burst 12500b"), "\(shown)")
            #expect(shown.contains("lat 50ms") || shown.contains("limit 75000b"), "\(shown)")

            // Replaced in place: one root qdisc, with the new rate.
            try socket.submit(.replaceTokenBucket(link: "veth-a", rateBytesPerSecond: 125_000, burstBytes: 1_514, limitBytes: 7_764))
            let replaced = try run("tc", "-n", a.name, "qdisc", "show", "dev", "veth-a").output
            #expect(replaced.contains("rate 1Mbit burst 1514b"), "\(replaced)")
            #expect(replaced.split(separator: "\n").filter { $0.contains("root") }.count == 1, "\(replaced)")

            try socket.submit(.deleteRootQdisc(link: "veth-a"))
            let deleted = try run("tc", "-n", a.name, "qdisc", "show", "dev", "veth-a").output
            #expect(!deleted.contains("tbf"), "\(deleted)")
            // Nothing left to delete: ENOENT, which the apply tolerates.
            #expect(throws: KernelError.self) { try socket.submit(.deleteRootQdisc(link: "veth-a")) }
            do { try socket.submit(.deleteRootQdisc(link: "veth-a")) } catch let error as KernelError { #expect(error.errno == ENOENT) }
        }
    }

    /// On a kernel without netem the probe says so (ENOENT) and leaves `lo` as it was; with
    /// netem, it finds it. Either way the answer agrees with `tc`.
    @Test func netemProbeAgreesWithTC() throws {
        try withTestNamespaces("n") { namespaces in
            let socket = try RouteSocket(in: namespaces[0])
            let found = try NetemSupport.available(probingWith: socket)
            let tc = try run("tc", "-n", namespaces[0].name, "qdisc", "replace", "dev", "lo", "root", "netem", "delay", "1ms")
            #expect(found == (tc.status == 0), "\(tc.output)")
            let left = try run("tc", "-n", namespaces[0].name, "qdisc", "show", "dev", "lo").output
            if !found { #expect(!left.contains("netem"), "\(left)") }
        }
    }
}
