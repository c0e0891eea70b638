import Foundation
import LabKernel
import Testing

@Suite(.enabled(if: isRoot, "needs root")) struct SysctlTests {
    @Test func writtenInsideReadBackInsideAndTheRootNamespaceUntouched() throws {
        let rootForwarding = try rootSysctl("net/ipv4/ip_forward")
        let rootRPFilter = try rootSysctl("net/ipv4/conf/all/rp_filter")
        try withTestNamespaces("node") { namespaces in
            let node = namespaces[0]
            // Flip each to the opposite of the root's value, so leaking into the root would show.
            let forwarding = rootForwarding == "1" ? "0" : "1"
            let rpFilter = rootRPFilter == "0" ? "2" : "0"
            try node.writeSysctls([("net.ipv4.ip_forward", forwarding), ("net.ipv4.conf.all.rp_filter", rpFilter)])
            #expect(try node.readSysctl("net.ipv4.ip_forward") == forwarding)
            #expect(try node.readSysctl("net.ipv4.conf.all.rp_filter") == rpFilter)
            let seenByIp = try run("ip", "netns", "exec", node.name, "cat", "/proc/sys/net/ipv4/ip_forward")
            #expect(seenByIp.output == forwarding + "\n")
            #expect(try rootSysctl("net/ipv4/ip_forward") == rootForwarding)
            #expect(try rootSysctl("net/ipv4/conf/all/rp_filter") == rootRPFilter)
        }
    }

    @Test func aMissingKeyThrowsENOENTNamingTheKey() throws {
        try withTestNamespaces("node") { namespaces throws in
            let node = namespaces[0]
            let error = #expect(throws: KernelError.self) {
                try node.writeSysctls([("net.ipv4.ip_forward", "1"), ("net.ipv4.no_such_key", "1")])
            }
            #expect(error?.errno == ENOENT)
            #expect(error?.namespace == node.name)
            #expect(error?.description.contains("net.ipv4.no_such_key") == true)
            // Settings before the failing one were written.
            #expect(try node.readSysctl("net.ipv4.ip_forward") == "1")
            let readError = #expect(throws: KernelError.self) { try node.readSysctl("net.ipv4.no_such_key") }
            #expect(readError?.errno == ENOENT)
        }
    }

    @Test func aBadValueKeepsTheKernelsErrno() throws {
        try withTestNamespaces("node") { namespaces in
            let error = #expect(throws: KernelError.self) {
                try namespaces[0].writeSysctls([("net.ipv4.ip_forward", "not-a-number")])
            }
            #expect(error?.errno == EINVAL)
        }
    }
}

/// A sysctl of the root namespace, read by this (root-namespace) thread.
private func rootSysctl(_ path: String) throws -> String {
    try String(contentsOfFile: "/proc/sys/" + path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
}
