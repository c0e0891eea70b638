import CMnl
import Glibc

/// A delay line for kernels without netem: packets that an iptables rule sends to an NFQUEUE
/// queue (`-j NFQUEUE --queue-num N`) are held here and accepted once their delay (plus a
/// uniform jitter) has passed. Only the verdict crosses to user space, never the payload (copy
/// mode META), so a packet costs one read and one verdict.
///
/// Queues are per namespace; the socket is opened inside the namespace and then served from
/// any one thread (`serve`, or a caller's own loop over `descriptor`, `readAvailable`,
/// `releaseDue` and `nextDue`). Without jitter packets leave in the order they came; with it
/// they may reorder, as netem's do. Like netem at its `limit`, the kernel drops a packet that
/// finds `maximumHeld` packets held; the queue does not fail open, so nothing passes undelayed.
public final class NFQueueDelayLine: @unchecked Sendable {
    public let queue: UInt16
    public private(set) var delayNanoseconds: Int64
    public private(set) var jitterNanoseconds: Int64
    /// -1 once `close()` has run.
    private var fd: Int32
    /// Held packets: (release time, id), kept sorted by release time.
    private var held: [(due: Int64, id: UInt32)] = []
    private var buffer = [UInt8](repeating: 0, count: 65536)

    /// The lab's netem limit, so both mechanisms hold as many packets.
    public static let maximumHeld: UInt32 = 10_000

    // nfnetlink_queue (`linux/netfilter/nfnetlink_queue.h`), written out: the header is not in
    // the CMnl shim.
    static let subsystemQueue: UInt16 = 3 << 8
    static let messagePacket: UInt16 = 0, messageVerdict: UInt16 = 1, messageConfig: UInt16 = 2
    static let configCommand: UInt16 = 1, configParameters: UInt16 = 2, configMaxLength: UInt16 = 3
    static let configMask: UInt16 = 4, configFlags: UInt16 = 5
    static let packetHeader: UInt16 = 1, verdictHeader: UInt16 = 2
    static let commandBind: UInt8 = 1, copyMeta: UInt8 = 1
    /// GSO: no forced segmentation (a GSO packet is held whole). Not FAIL_OPEN (0x1), which
    /// would accept undelayed what finds the queue full.
    static let flags: UInt32 = 0x4
    static let accept: UInt32 = 1

    /// 1. `socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER)` inside `namespace`;
    /// 2. bind queue `queue` with copy mode META, a `maximumHeld`-packet queue and GSO.
    public init(in namespace: NetworkNamespace, queue: UInt16, delayMicroseconds: Int, jitterMicroseconds: Int = 0) throws {
        self.queue = queue
        delayNanoseconds = Int64(delayMicroseconds) * 1000
        jitterNanoseconds = Int64(jitterMicroseconds) * 1000
        fd = try namespace.perform {
            let fd = Glibc.socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), NETLINK_NETFILTER)
            guard fd >= 0 else {
                throw KernelError(operation: "open netlink socket", object: "NETLINK_NETFILTER", namespace: namespace.name, errno: currentErrno())
            }
            return fd
        }
        // A burst of packet messages must fit: root may go past `rmem_max`.
        var size: Int32 = 4 << 20
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        do {
            var command = [Self.commandBind, 0] + bigEndian(UInt16(AF_INET))
            try configure(attributes: [(Self.configCommand, command)])
            command = bigEndian(UInt32(0)) + [Self.copyMeta]
            try configure(attributes: [(Self.configParameters, command), (Self.configMaxLength, bigEndian(Self.maximumHeld)),
                                       (Self.configMask, bigEndian(Self.flags)), (Self.configFlags, bigEndian(Self.flags))])
        } catch {
            close()
            throw error
        }
    }

    /// The socket to poll for packets.
    public var descriptor: Int32 { fd }

    /// The earliest release time of a held packet (`now()`'s clock), nil when none is held.
    public var nextDue: Int64? { held.first?.due }

    /// New settings for packets that arrive from now on; those held keep their release time.
    public func setDelay(microseconds: Int, jitterMicroseconds: Int) {
        delayNanoseconds = Int64(microseconds) * 1000
        jitterNanoseconds = Int64(jitterMicroseconds) * 1000
    }

    deinit { close() }

    /// Closes the socket now, which unbinds the queue (another socket may then bind it) and
    /// drops what is held: `releaseAll` first. Reads and verdicts after it do nothing.
    public func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    /// Serves the queue until `seconds` have passed: reads packets as they come, accepts each
    /// when it is due. Packets still held at the end are accepted then.
    public func serve(seconds: Double) {
        let end = Self.now() + Int64(seconds * 1e9)
        while true {
            let now = Self.now()
            releaseDue(now: now)
            if now >= end { break }
            if Self.wait(for: [fd], until: min(held.first?.due ?? end, end)) { readAvailable() }
        }
        releaseAll()
    }

    /// Reads every packet message waiting on the socket, without blocking.
    public func readAvailable() {
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            // ENOBUFS: the kernel dropped messages the socket had no room for; read on.
            if count < 0, errno == ENOBUFS { continue }
            if count <= 0 { return }
            receive(buffer[..<count], at: Self.now())
        }
    }

    /// Accepts every held packet now (before the socket closes: closing it would drop them).
    public func releaseAll() { releaseDue(now: Int64.max) }

    /// Waits until one of `descriptors` is readable (true) or `deadline` (`now()`'s clock)
    /// passes (false). poll counts in whole milliseconds, so the last one is waited in slices
    /// of 100 µs that each look for a packet: one that arrives then is read (and its delay
    /// started) within a slice, and a release is late by at most a slice.
    public static func wait(for descriptors: [Int32], until deadline: Int64) -> Bool {
        var pollers = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        while true {
            let wait = deadline - now()
            if wait >= 1_000_000 {
                return poll(&pollers, nfds_t(pollers.count), Int32(min(wait / 1_000_000, 1000))) > 0
            }
            if poll(&pollers, nfds_t(pollers.count), 0) > 0 { return true }
            guard wait > 0 else { return false }
            var pause = timespec(tv_sec: 0, tv_nsec: Int(min(wait, 100_000)))
            nanosleep(&pause, nil)
        }
    }

    /// Every packet message in a datagram: its id is held until its release time.
    func receive(_ datagram: ArraySlice<UInt8>, at now: Int64) {
        var offset = datagram.startIndex
        while offset + 16 <= datagram.endIndex {
            let length = Int(u32(datagram, offset))
            let type = UInt16(datagram[offset + 4]) | UInt16(datagram[offset + 5]) << 8
            guard length >= 16, offset + length <= datagram.endIndex else { return }
            if type == Self.subsystemQueue | Self.messagePacket, let id = Self.packetID(datagram[(offset + 16)..<(offset + length)]) {
                var due = now + delayNanoseconds
                if jitterNanoseconds > 0 { due += Int64.random(in: -jitterNanoseconds...jitterNanoseconds) }
                let index = held.lastIndex { $0.due <= due }.map { $0 + 1 } ?? 0
                held.insert((due, id), at: index)
            }
            offset += (length + 3) & ~3
        }
    }

    /// `NFQA_PACKET_HDR`'s packet id, after the 4-byte `nfgenmsg`.
    static func packetID(_ body: ArraySlice<UInt8>) -> UInt32? {
        var offset = body.startIndex + 4
        while offset + 4 <= body.endIndex {
            let length = Int(UInt16(body[offset]) | UInt16(body[offset + 1]) << 8)
            let type = (UInt16(body[offset + 2]) | UInt16(body[offset + 3]) << 8) & 0x3fff
            guard length >= 4 else { return nil }
            if type == packetHeader, length >= 8 {
                return UInt32(body[offset + 4]) << 24 | UInt32(body[offset + 5]) << 16 | UInt32(body[offset + 6]) << 8 | UInt32(body[offset + 7])
            }
            offset += (length + 3) & ~3
        }
        return nil
    }

    /// Accepts every packet whose release time has come.
    public func releaseDue(now: Int64) {
        var count = 0
        while count < held.count, held[count].due <= now { count += 1 }
        guard count > 0 else { return }
        for packet in held[..<count] { sendVerdict(id: packet.id) }
        held.removeFirst(count)
    }

    /// `NFQNL_MSG_VERDICT` with `NF_ACCEPT`; no ack is asked, as a verdict is sent per packet.
    private func sendVerdict(id: UInt32) {
        let message = Self.message(type: Self.subsystemQueue | Self.messageVerdict, flags: UInt16(NLM_F_REQUEST), queue: queue,
                                   attributes: [(Self.verdictHeader, bigEndian(Self.accept) + bigEndian(id))])
        _ = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    }

    private func configure(attributes: [(UInt16, [UInt8])]) throws {
        let message = Self.message(type: Self.subsystemQueue | Self.messageConfig, flags: UInt16(NLM_F_REQUEST | NLM_F_ACK),
                                   queue: queue, attributes: attributes)
        guard message.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == message.count else {
            throw KernelError(operation: "configure nfqueue", object: "queue \(queue)", errno: currentErrno())
        }
        var reply = [UInt8](repeating: 0, count: 4096)
        let count = reply.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 20 else { throw KernelError(operation: "configure nfqueue", object: "queue \(queue)", errno: currentErrno()) }
        let error = Int32(bitPattern: u32(reply[...], 16))
        if UInt16(reply[4]) | UInt16(reply[5]) << 8 == UInt16(NLMSG_ERROR), error != 0 {
            throw KernelError(operation: "configure nfqueue", object: "queue \(queue)", errno: -error)
        }
    }

    /// nlmsghdr + nfgenmsg (AF_UNSPEC, version 0, the queue number big-endian) + attributes.
    static func message(type: UInt16, flags: UInt16, queue: UInt16, attributes: [(UInt16, [UInt8])]) -> [UInt8] {
        var body: [UInt8] = [UInt8(AF_UNSPEC), 0] + bigEndian(queue)
        for (attributeType, payload) in attributes {
            body += littleEndian(UInt16(4 + payload.count)) + littleEndian(attributeType) + payload
            body += [UInt8](repeating: 0, count: (4 - payload.count % 4) % 4)
        }
        return littleEndian(UInt32(16 + body.count)) + littleEndian(type) + littleEndian(flags)
            + littleEndian(UInt32(0)) + littleEndian(UInt32(0)) + body
    }

    /// CLOCK_MONOTONIC in nanoseconds: the clock release times are kept in.
    public static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}

private func u32(_ bytes: ArraySlice<UInt8>, _ offset: Int) -> UInt32 {
    UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
}

private func bigEndian<Value: FixedWidthInteger>(_ value: Value) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
private func littleEndian<Value: FixedWidthInteger>(_ value: Value) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
