import Glibc
import LabKernel

/// The sockets probes use, opened non-blocking and close-on-exec in the calling thread's
/// network namespace — which is the source pod's once the thread has entered it.
enum ProbeSocket {
    enum Kind: Sendable {
        case tcp, udp
        /// A raw ICMP socket: ping sockets (`SOCK_DGRAM`, `IPPROTO_ICMP`) need
        /// `net.ipv4.ping_group_range` to admit our group, which a fresh namespace does not.
        case icmp
    }

    /// A descriptor, or the errno of the step that failed.
    enum Opened: Sendable {
        case socket(Int32)
        case failed(errno: Int32, step: String)
    }

    /// Opens one socket of each kind in the calling thread's namespace.
    static func open(_ kinds: [Kind]) -> [Opened] { kinds.map(open) }

    /// Opens sockets of `kinds` inside `namespace` (one thread for all of them) or here.
    static func open(_ kinds: [Kind], in namespace: NetworkNamespace?) -> [Opened] {
        guard let namespace else { return open(kinds) }
        do {
            return try namespace.perform { open(kinds) }
        } catch let error as KernelError {
            return kinds.map { _ in .failed(errno: error.errno, step: "enter namespace \(namespace.name)") }
        } catch {
            return kinds.map { _ in .failed(errno: EINVAL, step: "enter namespace \(namespace.name): \(error)") }
        }
    }

    private static func open(_ kind: Kind) -> Opened {
        let flags = Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
        let fd: Int32 = switch kind {
        case .tcp: socket(AF_INET, Int32(SOCK_STREAM.rawValue) | flags, 0)
        case .udp: socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | flags, 0)
        case .icmp: socket(AF_INET, Int32(SOCK_RAW.rawValue) | flags, Int32(IPPROTO_ICMP))
        }
        guard fd >= 0 else { return .failed(errno: errno, step: "open \(kind) socket") }
        if kind == .icmp {
            // ICMP_FILTER (linux/icmp.h; not exported to Swift): a set bit drops that type
            // before it is queued. A raw socket otherwise gets a copy of every ICMP packet
            // the namespace receives — on loopback even our own echo requests.
            let solRaw: Int32 = 255, icmpFilter: Int32 = 1, echoReply: UInt32 = 0
            var filter = ~(UInt32(1) << echoReply)
            if setsockopt(fd, solRaw, icmpFilter, &filter, socklen_t(MemoryLayout<UInt32>.size)) != 0 {
                let code = errno
                close(fd)
                return .failed(errno: code, step: "set ICMP_FILTER")
            }
            // The kernel stamps each reply as it arrives, so a round trip does not include
            // the time the reply waited for our event loop (as ping measures it). When no
            // socket on the host had timestamps on, the kernel switches them on a moment later
            // (a work item); replies before that are stamped when read, as without the option.
            var on: Int32 = 1
            if setsockopt(fd, SOL_SOCKET, timestampOption, &on, socklen_t(MemoryLayout<Int32>.size)) != 0 {
                let code = errno
                close(fd)
                return .failed(errno: code, step: "set SO_TIMESTAMPNS")
            }
        }
        return .socket(fd)
    }

    /// Attaches a classic BPF program that keeps only echo replies carrying `identifier`, so
    /// the kernel drops another ping's replies before they are queued or wake us. Connecting
    /// a raw socket already limits it to replies from its peer (`raw_v4_match` compares the
    /// remote address); the filter covers pings to the same address from the same namespace
    /// (repeats, services, loopback). The userspace check stays: this is only a fast path.
    @discardableResult
    static func keepEchoReplies(_ fd: Int32, identifier: UInt16) -> Bool {
        // Raw IPv4 sockets see the packet from its IP header: X = header length, then the
        // 16-bit identifier at offset 4 of the ICMP header. ICMP_FILTER already passes only
        // echo replies.
        let program: [(code: UInt16, jt: UInt8, jf: UInt8, k: UInt32)] = [
            (0xb1, 0, 0, 0),                    // ldxb 4*([0]&0xf)
            (0x48, 0, 0, 4),                    // ldh [x + 4]
            (0x15, 0, 1, UInt32(identifier)),   // jeq #identifier, accept, drop
            (0x06, 0, 0, 0xffff_ffff),          // ret #-1: the whole packet
            (0x06, 0, 0, 0),                    // ret #0: drop
        ]
        // struct sock_filter is { u16 code; u8 jt; u8 jf; u32 k }, 8 bytes; struct sock_fprog
        // is { unsigned short len; struct sock_filter *filter }: built byte by byte, since
        // Swift does not promise C layout for its own structs.
        var instructions = [UInt8]()
        for instruction in program {
            withUnsafeBytes(of: instruction.code.littleEndian) { instructions += $0 }
            instructions += [instruction.jt, instruction.jf]
            withUnsafeBytes(of: instruction.k.littleEndian) { instructions += $0 }
        }
        let attachFilter: Int32 = 26 // SO_ATTACH_FILTER
        return instructions.withUnsafeBytes { code in
            var fprog = [UInt8](repeating: 0, count: 16)
            withUnsafeBytes(of: UInt16(5).littleEndian) { fprog.replaceSubrange(0..<2, with: $0) }
            withUnsafeBytes(of: UInt(bitPattern: code.baseAddress)) { fprog.replaceSubrange(8..<16, with: $0) }
            return setsockopt(fd, SOL_SOCKET, attachFilter, fprog, socklen_t(fprog.count)) == 0
        }
    }

    /// `connect(2)` to `endpoint`: 0, or the errno (EINPROGRESS for a TCP connection under way).
    /// Connecting a UDP or raw socket is what makes the kernel report ICMP errors about our
    /// packets on it (ECONNREFUSED, EHOSTUNREACH) and deliver only the peer's packets.
    static func connect(_ fd: Int32, to endpoint: ProbeEndpoint) -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: endpoint.port).bigEndian)
        address.sin_addr.s_addr = endpoint.address.value.bigEndian
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return status == 0 ? 0 : errno
    }

    /// The socket's pending error (`SO_ERROR`), which is how a non-blocking connect reports
    /// its result; reading it clears it.
    static func pendingError(_ fd: Int32) -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { return errno }
        return code
    }

    /// `send(2)` without SIGPIPE: the number of bytes sent, or the negated errno.
    static func send(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Int {
        let count = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        return count >= 0 ? count : -Int(errno)
    }

    /// `recv(2)` into `buffer` from its start: the number of bytes, 0 at end of stream, or the
    /// negated errno (EINTR is retried here).
    static func receive(_ fd: Int32, into buffer: inout [UInt8]) -> Int {
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count >= 0 { return count }
            if errno != EINTR { return -Int(errno) }
        }
    }

    /// `SO_TIMESTAMPNS` (asm-generic/socket.h; also the control message type
    /// `SCM_TIMESTAMPNS`): a `timespec` of `CLOCK_REALTIME` with every datagram.
    static let timestampOption: Int32 = 35

    /// `recvmsg(2)` into `buffer`: the number of bytes (or the negated errno, EINTR retried)
    /// and the kernel's receive time when the socket has `SO_TIMESTAMPNS` on.
    static func receiveStamped(_ fd: Int32, into buffer: inout [UInt8]) -> (count: Int, received: ProbeInstant?) {
        // cmsghdr (len: size_t, level: int, type: int) + a timespec, with room to spare.
        var control = [UInt8](repeating: 0, count: 64)
        while true {
            let count = buffer.withUnsafeMutableBytes { data in
                control.withUnsafeMutableBytes { controlBytes in
                    var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var message = msghdr()
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = 1
                        message.msg_control = controlBytes.baseAddress
                        message.msg_controllen = controlBytes.count
                        let count = recvmsg(fd, &message, Int32(MSG_DONTWAIT))
                        return count >= 0 ? (count, message.msg_controllen) : (count, 0)
                    }
                }
            }
            if count.0 < 0 {
                if errno == EINTR { continue }
                return (-Int(errno), nil)
            }
            return (count.0, timestamp(in: control.prefix(count.1)))
        }
    }

    /// The `SCM_TIMESTAMPNS` control message among `control`'s, walked by hand: the CMSG_*
    /// macros are not visible to Swift.
    static func timestamp(in control: ArraySlice<UInt8>) -> ProbeInstant? {
        let bytes = Array(control)
        let headerSize = MemoryLayout<Int>.size + 2 * MemoryLayout<Int32>.size
        let align = MemoryLayout<Int>.size
        var offset = 0
        while offset + headerSize <= bytes.count {
            let length = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int.self) }
            let level = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + align, as: Int32.self) }
            let type = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + align + 4, as: Int32.self) }
            guard length >= headerSize, offset + length <= bytes.count else { return nil }
            if level == SOL_SOCKET, type == timestampOption, length >= headerSize + MemoryLayout<timespec>.size {
                let time = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + headerSize, as: timespec.self) }
                return ProbeInstant(time)
            }
            offset += (length + align - 1) / align * align
        }
        return nil
    }
}
