import Foundation
import Testing

/// Privileged tests build real labs; they run only as root (CI runs as root).
let isRoot = getuid() == 0

/// The result of running a program to completion.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var succeeded: Bool { status == 0 }
}

/// Runs a program (looked up in PATH) and waits for it. Tests check the kernel with the
/// independent tools a person would use (`ip`, `ping`), never with lab's own code.
@discardableResult
func run(_ arguments: [String], environment: [String: String]? = nil, input: String? = nil) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let inputPipe = Pipe()
    process.standardInput = inputPipe
    try process.run()
    if let input { inputPipe.fileHandleForWriting.write(Data(input.utf8)) }
    try? inputPipe.fileHandleForWriting.close()
    // Read before waiting so a chatty child never blocks on a full pipe.
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                         stderr: String(decoding: stderr, as: UTF8.self))
}

/// The `lab` executable built next to this test bundle.
var labBinary: String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
    if directory.pathExtension == "xctest" || directory.path.contains(".xctest/") {
        while directory.path.contains(".xctest") { directory.deleteLastPathComponent() }
    }
    return directory.appendingPathComponent("lab").path
}

/// Runs the `lab` binary.
@discardableResult
func lab(_ arguments: String..., environment: [String: String]? = nil) throws -> CommandResult {
    try run([labBinary] + arguments, environment: environment)
}

/// The repository root, for `labs/`.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A lab name no other test (or concurrent test run) uses: lab names are at most 24 characters.
func uniqueLabName(_ stem: String) -> String {
    let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    return String("t\(stem.prefix(12))-\(suffix)".prefix(24))
}

/// Namespaces whose names start with the lab's prefix, as `ip netns list` shows them.
func namespaces(of lab: String) throws -> [String] {
    try run(["ip", "netns", "list"]).stdout.split(separator: "\n")
        .map { String($0.split(separator: " ")[0]) }
        .filter { $0.hasPrefix("lab.\(lab).") }
}

/// Builds a lab from YAML text with the `lab` binary, runs `body`, and always tears it down and
/// checks that nothing is left (namespaces, netns mounts, state).
func withLab(_ yaml: String, name: String, _ body: (String) throws -> Void) throws {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).yaml")
    try yaml.write(to: file, atomically: true, encoding: .utf8)
    defer {
        _ = try? lab("down", name)
        try? FileManager.default.removeItem(at: file)
    }
    let up = try lab("up", file.path)
    try #require(up.succeeded, "lab up failed: \(up.stderr)")
    try body(file.path)
    let down = try lab("down", name)
    #expect(down.succeeded, "lab down failed: \(down.stderr)")
    try expectNothingLeft(of: name)
}

func expectNothingLeft(of lab: String) throws {
    #expect(try namespaces(of: lab).isEmpty, "namespaces left behind")
    let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
    #expect(!mounts.contains("/run/netns/lab.\(lab)."), "netns mounts left behind")
    #expect(!FileManager.default.fileExists(atPath: "/run/lab/\(lab)"), "state directory left behind")
    #expect(!FileManager.default.fileExists(atPath: "/run/lab/.\(lab).lock"), "lock file left behind")
    let supervisors = try run(["pgrep", "-f", "supervise \(lab)$"]).stdout
    #expect(supervisors.isEmpty, "supervisor left running: \(supervisors)")
}

/// One ping, with one retry: a brand-new veth may drop the very first packet (measured.md).
func ping(from namespace: String, to address: String) throws -> Bool {
    for _ in 0..<2 {
        if try run(["ip", "netns", "exec", namespace, "ping", "-c1", "-W1", "-q", address]).succeeded { return true }
    }
    return false
}

/// What the host's root namespace looks like to `ip`, iptables and nft: it must be the same
/// before and after every lab.
func rootNamespaceSnapshot() throws -> [String: String] {
    var snapshot: [String: String] = [:]
    snapshot["links"] = try run(["ip", "-o", "link", "show"]).stdout
    snapshot["addresses"] = try run(["ip", "-o", "addr", "show"]).stdout
    snapshot["routes"] = try run(["ip", "route", "show", "table", "all"]).stdout
    snapshot["rules"] = try run(["ip", "rule", "show"]).stdout
    let save = try run(["iptables-save"]).stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }
    snapshot["iptables"] = save.map { $0.replacingOccurrences(of: #"\[\d+:\d+\]"#, with: "", options: .regularExpression) }
        .joined(separator: "\n")
    snapshot["nft"] = try run(["nft", "list", "ruleset"]).stdout
    for key in ["net/ipv4/ip_forward", "net/ipv4/conf/all/rp_filter", "net/bridge/bridge-nf-call-iptables"] {
        snapshot[key] = try? String(contentsOfFile: "/proc/sys/\(key)", encoding: .utf8)
    }
    return snapshot
}
