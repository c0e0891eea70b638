import Foundation
import LabKernel
import LabPlan
import LabSpec

/// The one packet `lab trace` sends: a TCP SYN (a non-blocking connect), a UDP datagram or an
/// ICMP echo request, from a source port (or echo identifier) no other traffic of the lab uses,
/// with a DSCP of its own (`TraceRuleset.dscp`) so each namespace's trace rule can pick it out.
///
/// The socket is opened inside the source namespace and then used from this thread. It stays
/// open until `close()`, after the trace rules are gone, so a TCP reset or FIN that closing
/// sends is never traced.
final class TraceProbe {
    let flow: TraceFlow
    let namespace: String
    /// The source port the kernel gave the socket, or the echo identifier.
    private(set) var port: UInt16 = 0
    private var fd: Int32 = -1

    /// Opens the socket inside `namespace` and binds it: TCP and UDP to a port the kernel
    /// picks (so no socket of that namespace has it), ICMP with a random identifier.
    init(flow: TraceFlow, in namespace: NetworkNamespace) throws {
        self.flow = flow
        self.namespace = namespace.name
        let proto = flow.protocol
        fd = try namespace.perform {
            let type: Int32
            let protocolNumber: Int32
            switch proto {
            case .tcp: (type, protocolNumber) = (Int32(SOCK_STREAM.rawValue), 0)
            case .udp: (type, protocolNumber) = (Int32(SOCK_DGRAM.rawValue), 0)
            case .icmp: (type, protocolNumber) = (Int32(SOCK_RAW.rawValue), Int32(IPPROTO_ICMP))
            }
            let fd = socket(AF_INET, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), protocolNumber)
            guard fd >= 0 else { throw KernelError(operation: "open probe socket", object: proto.rawValue, namespace: namespace.name, errno: errno) }
            return fd
        }
        defer {
            var tos = Int32(TraceRuleset.dscp(port: Int(port)) << 2)
            _ = setsockopt(fd, Int32(IPPROTO_IP), IP_TOS, &tos, socklen_t(MemoryLayout<Int32>.size))
        }
        // Bound to the model's source address: a node has several (eth0, cni0, flannel.1). The
        // model takes the one the node's route lookup picks (flannel.1's toward a pod behind
        // another node in vxlan mode), except toward its own pods, where it keeps eth0's over
        // cni0's; binding makes the kernel use exactly the address the model and its reply
        // selectors know.
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = flow.source.ip.value.bigEndian
        guard proto != .icmp else {
            port = UInt16.random(in: 40000...59999)
            let length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 }
            }
            guard bound else {
                let error = errno
                Glibc.close(fd)
                throw KernelError(operation: "bind probe socket", object: "\(proto.rawValue) \(flow.source.ip)", namespace: namespace.name, errno: error)
            }
            return
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(fd, address, length) == 0 && getsockname(fd, address, &length) == 0
            }
        }
        guard bound else {
            let error = errno
            Glibc.close(fd)
            throw KernelError(operation: "bind probe socket", object: proto.rawValue, namespace: namespace.name, errno: error)
        }
        port = UInt16(bigEndian: local.sin_port)
    }

    deinit { close() }

    func close() {
        if fd >= 0 {
            // SO_LINGER 0: an abortive close, one RST instead of a FIN exchange.
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            Glibc.close(fd)
            fd = -1
        }
    }

    /// Sends the packet. Returns at once; `answer` waits for what comes back.
    func send() throws {
        let proto = flow.protocol
        let port = self.port
        let fd = self.fd
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = UInt16(flow.port ?? 0).bigEndian
        remote.sin_addr.s_addr = flow.destination.value.bigEndian
        let status: Int = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                switch proto {
                case .tcp:
                    return Int(connect(fd, address, socklen_t(MemoryLayout<sockaddr_in>.size)))
                case .udp:
                    // Connected, so an ICMP port unreachable comes back as ECONNREFUSED.
                    guard connect(fd, address, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 else { return -1 }
                    let payload = Array("lab trace\n".utf8)
                    return payload.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
                case .icmp:
                    let message = TraceProbe.echoRequest(identifier: port)
                    return message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, address, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
            }
        }
        if status < 0 && !(proto == .tcp && errno == EINPROGRESS) {
            throw KernelError(operation: "send probe", object: flow.summary, namespace: namespace, errno: errno)
        }
    }

    /// Waits up to `timeout` seconds for the answer the sender would see.
    func answer(timeout: Double) -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return "nothing" }
            var poller = pollfd(fd: fd, events: Int16(flow.protocol == .tcp ? POLLOUT : POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, remaining * 1000)))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { return "nothing" }
            switch flow.protocol {
            case .tcp:
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                return error == 0 ? "SYN-ACK" : Self.describe(error, connection: true)
            case .udp:
                var buffer = [UInt8](repeating: 0, count: 512)
                let count = recv(fd, &buffer, buffer.count, 0)
                if count >= 0 { return "UDP answer \"\(String(decoding: buffer.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))\"" }
                if errno == EAGAIN { continue }
                return Self.describe(errno, connection: false)
            case .icmp:
                var buffer = [UInt8](repeating: 0, count: 1500)
                let count = recv(fd, &buffer, buffer.count, 0)
                guard count > 28 else { continue }
                let headerLength = Int(buffer[0] & 0x0f) * 4
                let type = buffer[headerLength]
                let identifier = UInt16(buffer[headerLength + 4]) << 8 | UInt16(buffer[headerLength + 5])
                if type == 0 && identifier == port { return "echo reply" }
                if type == 3 || type == 11, count >= headerLength + 8 + 28 {
                    // An error quoting our request: its inner ICMP header carries our identifier.
                    let inner = headerLength + 8
                    let innerHeader = Int(buffer[inner] & 0x0f) * 4
                    let quotedID = UInt16(buffer[inner + innerHeader + 4]) << 8 | UInt16(buffer[inner + innerHeader + 5])
                    if quotedID == port { return type == 3 ? "ICMP destination unreachable (code \(buffer[headerLength + 1]))" : "ICMP time exceeded" }
                }
                continue
            }
        }
    }

    static func describe(_ error: Int32, connection: Bool) -> String {
        switch error {
        case ECONNREFUSED: return connection ? "RST (connection refused)" : "ICMP port unreachable"
        case EHOSTUNREACH: return "ICMP host unreachable"
        case ENETUNREACH: return "ICMP net unreachable"
        case ETIMEDOUT: return "nothing"
        default: return "error: \(String(cString: strerror(error)))"
        }
    }

    /// An echo request with `identifier`, sequence 1 and the checksum filled in (a raw socket
    /// sends what it is given).
    static func echoRequest(identifier: UInt16) -> [UInt8] {
        var message: [UInt8] = [8, 0, 0, 0, UInt8(identifier >> 8), UInt8(identifier & 0xff), 0, 1]
        message += Array("lab trace".utf8)
        var sum: UInt32 = 0
        var index = 0
        while index < message.count {
            sum += UInt32(message[index]) << 8 | UInt32(index + 1 < message.count ? message[index + 1] : 0)
            index += 2
        }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        let checksum = ~UInt16(sum)
        message[2] = UInt8(checksum >> 8)
        message[3] = UInt8(checksum & 0xff)
        return message
    }
}
