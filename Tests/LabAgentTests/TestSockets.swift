import Foundation
import Glibc
import LabAgent
import Testing

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A blocking client socket with a 5 s receive timeout, so a server that does not answer fails
/// the test instead of hanging it. Written independently of the agent's own socket code, so
/// the two cannot share a mistake (e.g. how an address is printed).
final class TestSocket {
    let fd: Int32
    private var buffer: [UInt8] = []

    private init(fd: Int32) {
        self.fd = fd
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// A TCP connection to 127.0.0.1 (or ::1 with `ipv6`).
    static func connect(port: Int, ipv6: Bool = false) throws -> TestSocket {
        let socket = TestSocket(fd: Glibc.socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0))
        let status = withLoopback(port: port, ipv6: ipv6) { Glibc.connect(socket.fd, $0, $1) }
        guard status == 0 else { throw TestFailure("connect to port \(port): \(String(cString: strerror(errno)))") }
        return socket
    }

    /// An unconnected UDP socket bound to an ephemeral port on 127.0.0.1.
    static func udp() throws -> TestSocket {
        let socket = TestSocket(fd: Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0))
        guard withLoopback(port: 0, ipv6: false, { bind(socket.fd, $0, $1) }) == 0 else {
            throw TestFailure("bind UDP: \(String(cString: strerror(errno)))")
        }
        return socket
    }

    /// `127.0.0.1:PORT` or `[::1]:PORT` of this end, from `getsockname`.
    var localAddress: String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        if Int32(storage.ss_family) == AF_INET6 {
            let address = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }
            #expect(withUnsafeBytes(of: address.sin6_addr) { Array($0) } == Array(repeating: 0, count: 15) + [1])
            return "[::1]:\(UInt16(bigEndian: address.sin6_port))"
        }
        let address = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self) }
        #expect(address.sin_addr.s_addr == UInt32(0x7F00_0001).bigEndian)
        return "127.0.0.1:\(UInt16(bigEndian: address.sin_port))"
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw TestFailure("send: \(String(cString: strerror(errno)))") }
            sent += count
        }
    }

    /// Sends a datagram to 127.0.0.1:port.
    func sendDatagram(_ text: String, port: Int) throws {
        let bytes = Array(text.utf8)
        let count = withLoopback(port: port, ipv6: false) { address, length in
            bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, address, length) }
        }
        guard count == bytes.count else { throw TestFailure("sendto: \(String(cString: strerror(errno)))") }
    }

    func receiveDatagram() throws -> String {
        var bytes = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &bytes, bytes.count, 0)
        guard count >= 0 else { throw TestFailure("recv datagram: \(String(cString: strerror(errno)))") }
        return String(decoding: bytes[..<count], as: UTF8.self)
    }

    /// Reads more into the buffer; false at end of stream. Throws on timeout or error.
    @discardableResult
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &chunk, chunk.count, 0)
        guard count >= 0 else { throw TestFailure("recv: \(String(cString: strerror(errno)))") }
        buffer += chunk[..<count]
        return count > 0
    }

    /// One line without its newline; nil at end of stream.
    func readLine() throws -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeFirst(newline + 1)
                return line
            }
            guard try fill() else { return nil }
        }
    }

    /// Whether the peer has closed: the next read returns end of stream (not a timeout).
    func readsEndOfStream() throws -> Bool {
        buffer.isEmpty ? try !fill() : false
    }

    /// Everything until the peer closes.
    func readToEnd() throws -> [UInt8] {
        while try fill() {}
        defer { buffer = [] }
        return buffer
    }

    struct Response {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    /// One HTTP response, framed by its Content-Length (no body for a response to HEAD).
    func readResponse(toHEAD: Bool = false) throws -> Response {
        let terminator = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            headEnd = buffer.indices.first { buffer[$0...].starts(with: terminator) }
            if headEnd == nil, try !fill() { throw TestFailure("connection closed before a response head") }
        }
        let head = String(decoding: buffer[..<headEnd!], as: UTF8.self)
        buffer.removeFirst(headEnd! + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, statusLine[0] == "HTTP/1.1", let status = Int(statusLine[1]) else {
            throw TestFailure("bad status line in \(head)")
        }
        var headers: [String: String] = [:]
        for line in lines {
            let parts = line.split(separator: ":", maxSplits: 1)
            headers[parts[0].lowercased()] = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        }
        let length = toHEAD ? 0 : Int(headers["content-length"] ?? "") ?? -1
        guard length >= 0 else { throw TestFailure("no Content-Length in \(head)") }
        while buffer.count < length {
            guard try fill() else { throw TestFailure("connection closed inside a body") }
        }
        let body = String(decoding: buffer[..<length], as: UTF8.self)
        buffer.removeFirst(length)
        return Response(status: status, headers: headers, body: body)
    }

    /// `GET path` on a new connection, closed after the answer.
    static func get(_ path: String, port: Int, method: String = "GET") throws -> (response: Response, client: TestSocket) {
        let client = try connect(port: port)
        try client.send("\(method) \(path) HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        return (try client.readResponse(toHEAD: method == "HEAD"), client)
    }
}

private func withLoopback<T>(port: Int, ipv6: Bool, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
    if ipv6 {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = UInt16(port).bigEndian
        withUnsafeMutableBytes(of: &address.sin6_addr) { $0[15] = 1 }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

/// A server running `run()` on its own thread, as the supervisor runs it.
final class RunningServer: Sendable {
    let server: AgentServer
    private let finished = DispatchSemaphore(value: 0)

    init(_ listeners: [AgentListener], limits: AgentLimits = AgentLimits()) throws {
        server = try AgentServer(listeners: listeners, limits: limits)
        let finished = finished
        // Weak, so that once `run` returns the thread holds nothing and the server's
        // descriptors go with the last reference of the test, not whenever the thread exits.
        Thread { [weak server] in
            server?.run()
            finished.signal()
        }.start()
    }

    func port(_ index: Int = 0) -> Int { server.boundPorts[index] }

    /// Stops the server; whether `run` returned within `seconds`.
    func stop(within seconds: Double = 5) -> Bool {
        server.stop()
        return finished.wait(timeout: .now() + seconds) == .success
    }
}

/// Runs `body` against a fresh server on 127.0.0.1 and stops it afterwards, expecting `run`
/// to return.
func withServer<T>(_ listeners: [AgentListener], limits: AgentLimits = AgentLimits(),
                   _ body: (RunningServer) throws -> T) throws -> T {
    let running = try RunningServer(listeners, limits: limits)
    defer { #expect(running.stop()) }
    return try body(running)
}

/// A listener on 127.0.0.1 with a port the kernel chooses.
func loopback(_ pod: String, _ kind: AgentProtocol) -> AgentListener {
    AgentListener(pod: pod, protocol: kind, port: 0, address: "127.0.0.1")
}

/// The number of open descriptors of this process.
func openDescriptorCount() throws -> Int {
    try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
}

/// What the kernel says a descriptor is (device and inode), or nil when it is closed. A number
/// closed and then reused by other code in the process gets another identity, so "closed" can
/// be checked while other suites open and close descriptors of their own.
struct DescriptorIdentity: Hashable {
    var device: UInt64
    var inode: UInt64

    init?(_ fd: Int32) {
        var status = stat()
        guard fstat(fd, &status) == 0 else { return nil }
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }
}
