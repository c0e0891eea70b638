import Foundation
import Glibc
@testable import LabDNS

let digPath = ["/usr/bin/dig", "/usr/local/bin/dig"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// The log lines a test server wrote, collected across threads.
final class CollectedLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ line: String) { lock.lock(); stored.append(line); lock.unlock() }
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return stored }
}

/// Runs a server on 127.0.0.1 (a kernel-chosen port) on its own thread for the duration of
/// `body`, then stops it and waits for its thread to end.
func withServer(_ zone: ClusterZone, limits: DNSServerLimits = DNSServerLimits(), address: String = "127.0.0.1", port: Int = 0,
                netns: LabKernelNamespace? = nil, _ body: (DNSServer, CollectedLog) throws -> Void) throws {
    let log = CollectedLog()
    let server = try DNSServer(address: address, port: port, netns: netns, zone: zone, limits: limits) { log.append($0) }
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        server.run()
        done.signal()
    }
    thread.start()
    defer {
        server.stop()
        done.wait()
    }
    try body(server, log)
}

import LabKernel
typealias LabKernelNamespace = NetworkNamespace

struct DigResult {
    var status: String
    var flags: [String]
    var answers: [String]
    var authority: [String]
    var output: String
}

/// Runs dig and reads its status, header flags and sections. `+tries=1 +time=2`: a server that
/// does not answer fails the test in seconds.
func dig(_ arguments: [String], port: Int, server: String = "127.0.0.1", netns: String? = nil) throws -> DigResult {
    let process = Process()
    let digArguments = ["@\(server)", "-p", String(port), "+tries=1", "+time=2"] + arguments
    if let netns {
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", netns, digPath!] + digArguments
    } else {
        process.executableURL = URL(fileURLWithPath: digPath!)
        process.arguments = digArguments
    }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    var result = DigResult(status: "", flags: [], answers: [], authority: [], output: text)
    var section = ""
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if let range = line.range(of: "status: ") {
            result.status = String(line[range.upperBound...].prefix { $0 != "," })
        }
        if line.hasPrefix(";; flags: ") {
            result.flags = line.dropFirst(10).prefix { $0 != ";" }.split(separator: " ").map(String.init)
        }
        if line.hasPrefix(";; ") && line.hasSuffix("SECTION:") { section = String(line); continue }
        if line.isEmpty { section = ""; continue }
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 5 else { continue }
        let record = fields[3...].joined(separator: " ")
        if section.contains("ANSWER") { result.answers.append(record) }
        if section.contains("AUTHORITY") { result.authority.append(record) }
    }
    return result
}

/// A UDP socket bound to `address` (any 127/8 address works on loopback), for raw datagrams.
final class TestUDPClient {
    let fd: Int32

    init(address: String = "127.0.0.1") {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, address, &local.sin_addr)
        _ = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    @discardableResult
    func send(_ bytes: [UInt8], port: Int, flags: Int32 = 0) -> Int {
        var server = sockaddr_in()
        server.sin_family = sa_family_t(AF_INET)
        server.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &server.sin_addr)
        return bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &server) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, flags, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// The next datagram, or nil after the 2-second timeout.
    func receive(flags: Int32 = 0) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &buffer, buffer.count, flags)
        return count < 0 ? nil : Array(buffer.prefix(count))
    }
}

/// A TCP connection to the server, blocking with a 2-second timeout.
final class TestTCPClient {
    let fd: Int32

    init?(port: Int) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var server = sockaddr_in()
        server.sin_family = sa_family_t(AF_INET)
        server.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &server.sin_addr)
        let status = withUnsafePointer(to: &server) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if status != 0 { close(fd); return nil }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }

    /// Reads exactly `count` bytes; nil at the end of the stream or a timeout.
    func read(_ count: Int) -> [UInt8]? {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: count)
        while result.count < count {
            let got = recv(fd, &buffer, count - result.count, 0)
            if got <= 0 { return nil }
            result += buffer.prefix(got)
        }
        return result
    }

    /// One framed message.
    func readMessage() -> [UInt8]? {
        guard let length = read(2) else { return nil }
        return read(Int(length[0]) << 8 | Int(length[1]))
    }

    /// Whether the server closed the connection (recv returns 0 before the timeout).
    func isClosedByServer() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 0
    }
}

func framed(_ message: [UInt8]) -> [UInt8] { [UInt8(message.count >> 8), UInt8(message.count & 0xff)] + message }
