import Foundation
import LabKernel
import Testing

/// Kernel tests need root; without it they are skipped, not failed.
let isRoot = getuid() == 0

/// Runs a command and returns its status and output (stdout and stderr together), for checking
/// what the library did with the tools an operator would use.
@discardableResult
func run(_ arguments: String...) throws -> (status: Int32, output: String) {
    try run(arguments)
}

@discardableResult
func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// What the root namespace looks like to `ip`; tests compare it before and after.
struct RootNamespaceSnapshot: Equatable {
    var links: String
    var addresses: String
    var routes: String

    static func take() throws -> RootNamespaceSnapshot {
        RootNamespaceSnapshot(links: try run("ip", "link").output,
                              addresses: try run("ip", "addr").output,
                              routes: try run("ip", "route").output)
    }
}

/// Namespaces for one test: `labtest-<6 hex>-<suffix>`, unique per call, all deleted when
/// `body` returns or throws (and also any other namespace the body made with the prefix).
/// Also checks that the root namespace's links, addresses and routes did not change.
func withTestNamespaces<Result>(_ suffixes: String..., body: ([NetworkNamespace]) throws -> Result) throws -> Result {
    let prefix = "labtest-" + String(format: "%06x", UInt32.random(in: 0...0xffffff))
    let before = try RootNamespaceSnapshot.take()
    var created: [String] = []
    defer {
        for name in Set(created + NetworkNamespace.list().filter { $0.hasPrefix(prefix + "-") }) {
            try? NetworkNamespace.delete(name)
        }
        #expect(!NetworkNamespace.list().contains { $0.hasPrefix(prefix + "-") }, "namespaces of \(prefix) left behind")
        let after = try? RootNamespaceSnapshot.take()
        #expect(after == before, "the root namespace changed")
    }
    var namespaces: [NetworkNamespace] = []
    for suffix in suffixes {
        let name = "\(prefix)-\(suffix)"
        created.append(name)
        namespaces.append(try NetworkNamespace.create(name))
    }
    return try body(namespaces)
}

/// The output of `ip -n NS ARGS...`.
func ip(in namespace: NetworkNamespace, _ arguments: String...) throws -> String {
    let result = try run(["ip", "-n", namespace.name] + arguments)
    #expect(result.status == 0, "ip -n \(namespace.name) \(arguments.joined(separator: " ")): \(result.output)")
    return result.output
}

/// `ip netns exec NS ping -c1 -W1 ADDRESS`, retried once: a brand-new veth may drop the first
/// packet while neighbours are resolved.
func ping(from namespace: NetworkNamespace, _ address: String) throws -> Bool {
    for _ in 0..<2 {
        if try run("ip", "netns", "exec", namespace.name, "ping", "-c1", "-W1", address).status == 0 { return true }
    }
    return false
}
