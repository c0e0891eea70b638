import Foundation
import Glibc
import LabKernel

/// A cluster DNS server: UDP and TCP on one address and port inside a network namespace,
/// answering from a `ClusterZone`, served by one event loop on the thread that calls `run` (no
/// process or thread per query), as the lab's agents are.
///
/// ```swift
/// let server = try DNSServer(address: "10.244.1.9", port: 53, netns: corednsPod, zone: zone) { line in log.write(line) }
/// Thread { server.run() }.start()
/// server.update(ClusterZone(changedInput))   // the next query sees the new records
/// server.stop()
/// ```
public final class DNSServer: @unchecked Sendable {
    // Sendable because the loop's state lives in `DNSServerLoop`, owned by the thread in `run`;
    // what other threads touch is immutable or behind `lock`.

    public let address: String
    /// The port both sockets are bound to: the kernel's choice when 0 was asked for.
    public let port: Int
    let udpFD: Int32
    let tcpFD: Int32
    /// `stop` and `update` write a byte here to wake the loop.
    let wakeReader: Int32
    private let wakeWriter: Int32
    let limits: DNSServerLimits
    let log: @Sendable (String) -> Void

    private let lock = NSLock()
    private var currentZone: ClusterZone
    private var stopRequested = false
    private var started = false
    private var listenersClosed = false

    /// Opens both sockets now, inside `netns` when given (else the caller's namespace), so an
    /// address or port that cannot be had fails here, before anything is served. `log` gets a
    /// line per query (`DNSQueryLog`) and a warning per source whose queries were dropped, on
    /// the loop's thread.
    public init(address: String, port: Int, netns: NetworkNamespace? = nil, zone: ClusterZone,
                limits: DNSServerLimits = .standard, log: @escaping @Sendable (String) -> Void) throws {
        DescriptorLimit.raise()
        let open: @Sendable () throws -> (udp: Int32, tcp: Int32, port: Int) = {
            try DNSSocketOpener.open(address: address, port: port, namespace: netns?.name)
        }
        let sockets = try netns.map { try $0.perform(open) } ?? open()
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            let code = errno
            close(sockets.udp)
            close(sockets.tcp)
            throw KernelError(operation: "socketpair", object: "(DNS server wake-up)", errno: code)
        }
        self.address = address
        self.port = sockets.port
        udpFD = sockets.udp
        tcpFD = sockets.tcp
        wakeReader = pair[0]
        wakeWriter = pair[1]
        self.limits = limits
        self.log = log
        currentZone = zone
    }

    deinit {
        closeListeners()
        close(wakeReader)
        close(wakeWriter)
    }

    /// The listening sockets, closed when `run` returns (so the port is free the moment the
    /// serving thread ends, not whenever the last reference goes) or with the server.
    private func closeListeners() {
        lock.lock()
        defer { lock.unlock() }
        guard !listenersClosed else { return }
        listenersClosed = true
        close(udpFD)
        close(tcpFD)
    }

    /// Serves until `stop`, then closes every connection and its listening sockets. A server
    /// runs once: `run` again, or after `stop`, returns at once.
    public func run() {
        lock.lock()
        let first = !started && !stopRequested
        started = true
        lock.unlock()
        guard first else { return }
        do {
            try DNSServerLoop(server: self).run()
        } catch {
            log("[ERROR] DNS server on \(address):\(port) stopped: \(error)")
        }
        closeListeners()
    }

    /// Ends `run` promptly, from any thread.
    public func stop() {
        lock.lock()
        stopRequested = true
        lock.unlock()
        wake()
    }

    /// Answers from `zone` from the next query read on: once this returns, every query the
    /// server has not yet read is answered from it.
    public func update(_ zone: ClusterZone) {
        lock.lock()
        currentZone = zone
        lock.unlock()
    }

    /// The zone to answer a query from, read for each query (an uncontended lock costs far
    /// less than an answer), so no query read after `update` gets the old records.
    var zone: ClusterZone {
        lock.lock()
        defer { lock.unlock() }
        return currentZone
    }

    var isStopRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopRequested
    }

    private func wake() {
        var byte: UInt8 = 1
        // EAGAIN means the pair is full of earlier wake-ups; one is enough.
        _ = send(wakeWriter, &byte, 1, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
    }
}

/// A socket the DNS server could not open, with where and why.
public struct DNSServerError: Error, CustomStringConvertible {
    public var operation: String
    public var address: String
    public var port: Int
    /// The network namespace, nil for the caller's own.
    public var netns: String?
    public var errno: Int32

    public var description: String {
        let place = netns.map { " in network namespace \($0)" } ?? ""
        var hint = ""
        if errno == EADDRINUSE { hint = " (another server holds the port there)" }
        if errno == EADDRNOTAVAIL { hint = " (no interface there has that address)" }
        if errno == EACCES { hint = " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" }
        return "DNS server: \(operation) \(address):\(port)\(place): \(String(cString: strerror(errno)))\(hint)"
    }
}

/// Opens the server's UDP socket and TCP listener in the calling thread's namespace.
enum DNSSocketOpener {
    /// 1. UDP `socket` + `bind`, non-blocking and close-on-exec; a generous receive buffer so a
    ///    burst waits in the kernel rather than being dropped.
    /// 2. TCP `socket`, `SO_REUSEADDR` (a restarted server listens again while old connections
    ///    sit in TIME_WAIT), `bind` to the port UDP got, `listen`. When port 0 was asked for
    ///    and the kernel's UDP choice is taken for TCP, both are tried again.
    static func open(address: String, port: Int, namespace: String?) throws(DNSServerError) -> (udp: Int32, tcp: Int32, port: Int) {
        var attempts = 0
        while true {
            attempts += 1
            let udp = try socket(SOCK_DGRAM, address: address, port: port, namespace: namespace)
            let bound = boundPort(udp)
            do {
                let tcp = try socket(SOCK_STREAM, address: address, port: bound, namespace: namespace)
                return (udp, tcp, bound)
            } catch {
                close(udp)
                if port == 0, error.errno == EADDRINUSE, attempts < 8 { continue }
                throw error
            }
        }
    }

    private static func socket(_ type: __socket_type, address: String, port: Int, namespace: String?) throws(DNSServerError) -> Int32 {
        let transport = type == SOCK_DGRAM ? "UDP" : "TCP"
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = in_port_t(UInt16(clamping: port).bigEndian)
        guard (0...65535).contains(port), inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else {
            throw DNSServerError(operation: "parse \(transport) address", address: address, port: port, netns: namespace, errno: EINVAL)
        }
        let fd = Glibc.socket(AF_INET, Int32(type.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw DNSServerError(operation: "open \(transport) socket for", address: address, port: port, netns: namespace, errno: errno)
        }
        func fail(_ operation: String) -> DNSServerError {
            let error = DNSServerError(operation: "\(operation) \(transport)", address: address, port: port, netns: namespace, errno: errno)
            close(fd)
            return error
        }
        var value: Int32 = 1
        let length = socklen_t(MemoryLayout<Int32>.size)
        if type == SOCK_STREAM {
            guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &value, length) == 0 else { throw fail("set SO_REUSEADDR on") }
        } else {
            // A deep queue, so a burst from one client does not push another's query out of
            // the socket before the loop gets to it.
            ReceiveBuffer.deepen(fd, to: 4 << 20, fallback: 1 << 20)
        }
        let status = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { throw fail("bind") }
        if type == SOCK_STREAM {
            guard listen(fd, SOMAXCONN) == 0 else { throw fail("listen on") }
        }
        return fd
    }

    private static func boundPort(_ fd: Int32) -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
