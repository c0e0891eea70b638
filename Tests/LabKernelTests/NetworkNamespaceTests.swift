import Foundation
import LabKernel
import Testing

@Suite(.enabled(if: isRoot, "needs root")) struct NetworkNamespaceTests {
    @Test func createListAndDeleteAsIpSeesThem() throws {
        try withTestNamespaces("a") { namespaces in
            let name = namespaces[0].name
            #expect(try run("ip", "netns", "list").output.contains(name))
            #expect(NetworkNamespace.list().contains(name))
            #expect(NetworkNamespace.exists(name))

            let duplicate = #expect(throws: KernelError.self) { try NetworkNamespace.create(name) }
            #expect(duplicate?.errno == EEXIST)
            // The failed duplicate must not have disturbed the existing namespace.
            #expect(try run("ip", "-n", name, "link", "show", "lo").status == 0)

            try NetworkNamespace.delete(name)
            #expect(!NetworkNamespace.exists(name))
            #expect(!(try run("ip", "netns", "list").output.contains(name)))
            let missing = #expect(throws: KernelError.self) { try NetworkNamespace.delete(name) }
            #expect(missing?.errno == ENOENT)
            #expect(missing?.errnoName == "ENOENT")
        }
    }

    @Test func ipCanDeleteWhatWeCreated() throws {
        try withTestNamespaces("a") { namespaces in
            let name = namespaces[0].name
            let deleted = try run("ip", "netns", "delete", name)
            #expect(deleted.status == 0)
            #expect(!NetworkNamespace.list().contains(name))
        }
    }

    @Test func openingAMissingNamespaceKeepsENOENT() {
        let error = #expect(throws: KernelError.self) { try NetworkNamespace.open("labtest-000000-missing") }
        #expect(error?.errno == ENOENT)
    }

    @Test func manyNamespacesCreatedConcurrently() throws {
        try withTestNamespaces { _ in
            let prefix = "labtest-" + String(format: "%06x", UInt32.random(in: 0...0xffffff))
            defer { for index in 0..<8 { try? NetworkNamespace.delete("\(prefix)-c\(index)") } }
            let failures = ErrorList()
            DispatchQueue.concurrentPerform(iterations: 8) { index in
                do { _ = try NetworkNamespace.create("\(prefix)-c\(index)") } catch { failures.add(error) }
            }
            #expect(failures.all.isEmpty)
            #expect(NetworkNamespace.list().filter { $0.hasPrefix(prefix) }.count == 8)
        }
    }

    @Test func performRunsInTheNamespaceAndLeavesTheCallerWhereItWas() throws {
        try withTestNamespaces("a") { namespaces in
            let namespace = namespaces[0]
            let callerBefore = try netnsInode("/proc/thread-self/ns/net")
            let inside = try namespace.perform { try netnsInode("/proc/thread-self/ns/net") }
            #expect(inside == (try netnsInode("/run/netns/\(namespace.name)")))
            #expect(inside != callerBefore)
            #expect(try netnsInode("/proc/thread-self/ns/net") == callerBefore)

            struct Marker: Error {}
            #expect(throws: Marker.self) { try namespace.perform { throw Marker() } }
        }
    }

    @Test func pidsFindsAProcessStartedWithIpNetnsExec() throws {
        try withTestNamespaces("a") { namespaces in
            let namespace = namespaces[0]
            let sleeper = Process()
            sleeper.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            sleeper.arguments = ["ip", "netns", "exec", namespace.name, "sleep", "30"]
            try sleeper.run()
            defer {
                // SIGKILL: the test runner's threads may block SIGTERM, and children inherit that.
                kill(sleeper.processIdentifier, SIGKILL)
                sleeper.waitUntilExit()
            }
            // `ip netns exec` execs `sleep` in place, so the pid stays the same; give it a moment
            // to get past setns.
            var found: [Int32] = []
            for _ in 0..<100 {
                found = namespace.pids()
                if found.contains(sleeper.processIdentifier) { break }
                usleep(20_000)
            }
            #expect(found == [sleeper.processIdentifier])
            #expect(try run("ip", "netns", "pids", namespace.name).output.split(separator: "\n") == ["\(sleeper.processIdentifier)"])
        }
    }

    @Test func createThenInsideWorksInTheNewNamespaceAndUndoesAFailure() throws {
        let name = "labtest-" + String(format: "%06x", UInt32.random(in: 0...0xffffff)) + "-in"
        defer { try? NetworkNamespace.delete(name) }
        let callerBefore = try netnsInode("/proc/thread-self/ns/net")
        let (namespace, inside) = try NetworkNamespace.create(name) { namespace in
            // What the applier does there: the socket and the sysctls, with no thread hop.
            let socket = try RouteSocket(fromThreadInside: namespace)
            try namespace.writeSysctlsFromThreadInside([("net.ipv4.ip_forward", "1")])
            return (try netnsInode("/proc/thread-self/ns/net"), socket)
        }
        #expect(inside.0 == (try netnsInode("/run/netns/\(name)")))
        #expect(inside.0 != callerBefore)
        #expect(try netnsInode("/proc/thread-self/ns/net") == callerBefore)
        #expect(try namespace.readSysctl("net.ipv4.ip_forward") == "1")
        #expect(try inside.1.linkIndex("lo") == 1)
        #expect(try run("ip", "netns", "exec", name, "sysctl", "-n", "net.ipv4.ip_forward").output == "1\n")

        struct Marker: Error {}
        let failing = name + "x"
        #expect(throws: Marker.self) { try NetworkNamespace.create(failing) { _ in throw Marker() } }
        #expect(!NetworkNamespace.exists(failing))
        #expect(!NetworkNamespace.list().contains(failing))
    }

    /// Files made ahead for a run share one inode, yet every name gets its own namespace, an
    /// existing name is refused with EEXIST and left alone, a failed creation takes away only
    /// its own link, and `ip netns delete` of one leaves the others.
    @Test func namespacesFromLinkedPlaceholdersAreSeparateAndDeletedOneByOne() throws {
        let prefix = "labtest-" + String(format: "%06x", UInt32.random(in: 0...0xffffff))
        let names = (0..<4).map { "\(prefix)-p\($0)" }
        let existing = "\(prefix)-p2"
        defer { for name in names { try? NetworkNamespace.delete(name) } }
        _ = try NetworkNamespace.create(existing)
        let existingInode = try netnsInode("/run/netns/\(existing)")

        let placeholders = try NetworkNamespace.makePlaceholders(names)
        #expect(placeholders.map(\.name) == names)
        #expect(placeholders.map(\.failure) == [nil, nil, EEXIST, nil])
        var unmounted = stat(), first = stat()
        #expect(stat("/run/netns/\(names[0])", &first) == 0)
        #expect(stat("/run/netns/\(names[3])", &unmounted) == 0)
        #expect(unmounted.st_ino == first.st_ino, "a hard link, not a file of its own")

        struct Marker: Error {}
        #expect(throws: Marker.self) { try NetworkNamespace.create(from: placeholders[1]) { _ in throw Marker() } }
        #expect(!NetworkNamespace.exists(names[1]))
        let refused = #expect(throws: KernelError.self) { try NetworkNamespace.create(from: placeholders[2]) { _ in } }
        #expect(refused?.errno == EEXIST)
        #expect(try netnsInode("/run/netns/\(existing)") == existingInode)
        _ = try NetworkNamespace.create(from: placeholders[0]) { _ in }
        _ = try NetworkNamespace.create(from: placeholders[3]) { _ in }

        let inodes = try [names[0], names[3], existing].map { try netnsInode("/run/netns/\($0)") }
        #expect(Set(inodes).count == 3, "one namespace per name")
        #expect(try run("ip", "netns", "list").output.contains(names[3]))
        #expect(try run("ip", "-n", names[3], "link", "show", "lo").status == 0)
        #expect(try run("ip", "netns", "delete", names[0]).status == 0)
        #expect(!NetworkNamespace.exists(names[0]))
        #expect(try netnsInode("/run/netns/\(names[3])") == inodes[1])
        #expect(try run("ip", "-n", names[3], "link", "show", "lo").status == 0)
    }

    @Test func pidsInNamedNamespacesFindsEachProcessInOnePass() throws {
        try withTestNamespaces("a", "b", "c") { namespaces in
            var sleepers: [Process] = []
            defer {
                for sleeper in sleepers {
                    kill(sleeper.processIdentifier, SIGKILL)
                    sleeper.waitUntilExit()
                }
            }
            // One process in a and one in b; c is empty and must add nothing.
            for namespace in namespaces.prefix(2) {
                let sleeper = Process()
                sleeper.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                sleeper.arguments = ["ip", "netns", "exec", namespace.name, "sleep", "30"]
                try sleeper.run()
                sleepers.append(sleeper)
            }
            let expected = sleepers.map(\.processIdentifier).sorted()
            let names = namespaces.map(\.name) + ["labtest-000000-gone"]
            var found: [Int32] = []
            for _ in 0..<100 {
                found = NetworkNamespace.pids(inNamespacesNamed: names)
                if found == expected { break }
                usleep(20_000)
            }
            #expect(found == expected)
            #expect(NetworkNamespace.pids(inNamespacesNamed: [namespaces[2].name]) == [])
            #expect(NetworkNamespace.pids(inNamespacesNamed: [namespaces[1].name]) == [sleepers[1].processIdentifier])
            #expect(NetworkNamespace.pids(inNamespacesNamed: []) == [])
        }
    }

    @Test func namespaceExecReportsAMissingNamespaceBeforeChangingAnything() {
        let error = #expect(throws: KernelError.self) {
            try NamespaceExec.exec(namespace: "labtest-000000-missing", argv: ["true"], hostname: nil, environment: [:])
        }
        #expect(error?.errno == ENOENT)
        let empty = #expect(throws: KernelError.self) {
            try NamespaceExec.exec(namespace: "labtest-000000-missing", argv: [], hostname: nil, environment: [:])
        }
        #expect(empty?.errno == EINVAL)
    }
}

/// The inode of a namespace file, which identifies the namespace.
private func netnsInode(_ path: String) throws -> UInt64 {
    var info = stat()
    guard stat(path, &info) == 0 else { throw POSIXError(.init(rawValue: errno)!) }
    return UInt64(info.st_ino)
}
