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
    let resolverDirectories = ((try? FileManager.default.contentsOfDirectory(atPath: "/etc/netns")) ?? []).filter { $0.hasPrefix("lab.\(lab).") }
    #expect(resolverDirectories.isEmpty, "pod resolver directories left behind in /etc/netns")
    #expect(!FileManager.default.fileExists(atPath: "/run/lab/\(lab)"), "state directory left behind")
    #expect(!FileManager.default.fileExists(atPath: "/run/lab/.\(lab).lock"), "lock file left behind")
    let supervisors = try run(["pgrep", "-f", "supervise \(lab)$"]).stdout
    #expect(supervisors.isEmpty, "supervisor left running: \(supervisors)")
}

/// The IPv4 address of `link` in `namespace`, as `ip -4 addr` shows it ("" if it has none).
func ipv4Address(in namespace: String, link: String = "eth0") throws -> String {
    let line = try run(["ip", "-n", namespace, "-o", "-4", "addr", "show", link]).stdout
    return String(line.split(separator: " ").first { $0.contains("/") }?.split(separator: "/").first ?? "")
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

// MARK: - Helpers of the reliability tests (faults, interruptions, concurrency, leaks)

/// The test's own environment plus `extra`: `lab` still finds PATH and friends.
func environment(adding extra: [String: String]) -> [String: String] {
    ProcessInfo.processInfo.environment.merging(extra) { _, new in new }
}

/// Writes a lab file to the temporary directory and returns its path.
func writeLabFile(_ text: String, name: String) throws -> String {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).yaml")
    try text.write(to: file, atomically: true, encoding: .utf8)
    return file.path
}

/// The lab's namespaces as files under `/run/netns`, read directly: polling with `ip` would be
/// slower than the `lab` it watches.
func namespaceFiles(of lab: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []).filter { $0.hasPrefix("lab.\(lab).") }
}

/// `lab` running in the background, its output going to files (so no pipe can fill up while
/// the test is busy elsewhere). `wait()` returns what it printed and how it ended.
final class BackgroundLab {
    let process = Process()
    private let stdoutPath: String, stderrPath: String

    init(_ arguments: [String], environment: [String: String]? = nil) throws {
        let stem = FileManager.default.temporaryDirectory.appendingPathComponent("lab-\(UUID().uuidString)").path
        stdoutPath = stem + ".out"
        stderrPath = stem + ".err"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: labBinary)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// What it has written to stderr so far.
    var stderrSoFar: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits for it to end. `terminationStatus` is the signal number when it was killed, so a
    /// killed process is reported as a shell would: 128 + the signal.
    @discardableResult
    func wait() -> CommandResult {
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        let result = CommandResult(status: status,
                                   stdout: (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "",
                                   stderr: (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")
        try? FileManager.default.removeItem(atPath: stdoutPath)
        try? FileManager.default.removeItem(atPath: stderrPath)
        return result
    }
}

/// Polls `condition` every 10 ms for up to `seconds`; returns whether it became true.
func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    repeat {
        if try condition() { return true }
        usleep(10_000)
    } while Date() < deadline
    return try condition()
}

/// A process, told apart from a later one that reuses its pid by its start time (field 22 of
/// `/proc/PID/stat`, in clock ticks since boot).
struct ProcessIdentity: Hashable, CustomStringConvertible {
    var pid: Int32
    var startTime: String

    init?(pid: Int32) {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // After the command's closing parenthesis: state is field 3, starttime field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        self.pid = pid
        startTime = String(fields[19])
    }

    /// Still alive (and not a zombie) and still the same process.
    var isAlive: Bool {
        guard let now = ProcessIdentity(pid: pid), now.startTime == startTime else { return false }
        return isRunning(Int(pid))
    }

    var description: String { "\(pid)" }
}

/// Every process on the host whose command line is `lab supervise <lab>`, found through /proc
/// (independently of lab's pid file).
func supervisors(of lab: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return arguments.count == 3 && arguments[1] == "supervise" && arguments[2] == lab && isRunning(Int(pid))
    }.sorted()
}

/// The processes inside the lab's namespaces, as `ip netns pids` reports them.
func processesInside(_ lab: String) throws -> [Int32] {
    var pids: [Int32] = []
    for namespace in try namespaces(of: lab) {
        pids += try run(["ip", "netns", "pids", namespace]).stdout.split(separator: "\n").compactMap { Int32($0) }
    }
    return pids
}

/// How many descriptors the process has open (`ls /proc/PID/fd | wc -l`).
func openDescriptors(of pid: Int32) -> Int? {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count
}

/// The process's resident memory in kB (`VmRSS` of /proc/PID/status).
func residentKilobytes(of pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
    return line.split(separator: " ").compactMap { Int($0) }.first
}

/// `expectNothingLeft`, plus: no `lab supervise <lab>` anywhere in /proc and none of `processes`
/// (what ran in the lab while it was up) still alive.
func expectNothingLeft(of lab: String, processes: [ProcessIdentity]) throws {
    try expectNothingLeft(of: lab)
    #expect(supervisors(of: lab).isEmpty, "a supervisor of \(lab) is still running")
    let alive = processes.filter(\.isAlive)
    #expect(alive.isEmpty, "processes of \(lab) still alive: \(alive)")
}

/// A command left running while the test does something else (a server, a client holding a
/// connection open). Its output goes to files, so what it has written so far can be read while
/// it runs; `wait` returns everything.
final class BackgroundCommand {
    private let process = Process()
    private let stdoutPath: String, stderrPath: String

    init(_ arguments: [String]) throws {
        let stem = FileManager.default.temporaryDirectory.appendingPathComponent("bg-\(UUID().uuidString)").path
        stdoutPath = stem + ".out"
        stderrPath = stem + ".err"
        for path in [stdoutPath, stderrPath] { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
        for path in [stdoutPath, stderrPath] { try? FileManager.default.removeItem(atPath: path) }
    }

    /// What it has written to stdout so far.
    /// Sends `signal` to the program (as a user's Ctrl-C or `kill` would).
    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    var output: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }

    func wait() -> CommandResult {
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus, stdout: output,
                             stderr: (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")
    }
}
