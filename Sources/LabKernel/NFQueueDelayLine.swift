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
    /// nil once `close()` has run.
    private var connection: NetfilterNetlink?
    private let fd: Int32
    /// One verdict message for this queue, its packet id to be filled in (`verdicts`).
    private let verdictTemplate: [UInt8]
    /// Held packets: (release time, id), kept sorted by release time.
    private var held: [(due: Int64, id: UInt32)] = []
    private var buffer = [UInt8](repeating: 0, count: 65536)

    /// The lab's netem limit, so both mechanisms hold as many packets.
    public static let maximumHeld: UInt32 = 10_000

    // nfnetlink_queue's message types and attributes (`linux/netfilter/nfnetlink_queue.h`).
    static let subsystemQueue = UInt16(NFNL_SUBSYS_QUEUE) << 8
    static let messagePacket = UInt16(NFQNL_MSG_PACKET.rawValue), messageVerdict = UInt16(NFQNL_MSG_VERDICT.rawValue)
    static let messageConfig = UInt16(NFQNL_MSG_CONFIG.rawValue)
    static let configCommand = UInt16(NFQA_CFG_CMD.rawValue), configParameters = UInt16(NFQA_CFG_PARAMS.rawValue)
    static let configMaxLength = UInt16(NFQA_CFG_QUEUE_MAXLEN.rawValue), configMask = UInt16(NFQA_CFG_MASK.rawValue)
    static let configFlags = UInt16(NFQA_CFG_FLAGS.rawValue)
    static let packetHeader = UInt16(NFQA_PACKET_HDR.rawValue), verdictHeader = UInt16(NFQA_VERDICT_HDR.rawValue)
    static let commandBind = UInt8(NFQNL_CFG_CMD_BIND.rawValue), copyMeta = UInt8(NFQNL_COPY_META.rawValue)
    /// GSO: no forced segmentation (a GSO packet is held whole). Not FAIL_OPEN, which would
    /// accept undelayed what finds the queue full.
    static let flags = UInt32(NFQA_CFG_F_GSO)
    /// `NF_ACCEPT` (`linux/netfilter.h`, left out of the shim: its `linux/in.h` clashes with glibc's).
    static let accept: UInt32 = 1

    /// 1. A `NETLINK_NETFILTER` socket inside `namespace`, with room for a burst of packet
    ///    messages;
    /// 2. bind queue `queue` with copy mode META, a `maximumHeld`-packet queue and GSO.
    public init(in namespace: NetworkNamespace, queue: UInt16, delayMicroseconds: Int, jitterMicroseconds: Int = 0) throws {
        self.queue = queue
        delayNanoseconds = Int64(delayMicroseconds) * 1000
        jitterNanoseconds = Int64(jitterMicroseconds) * 1000
        let connection = try NetfilterNetlink(in: namespace, receiveBuffer: 4 << 20, object: "nfqueue \(queue)")
        self.connection = connection
        fd = mnl_socket_get_fd(connection.socket)
        verdictTemplate = Self.verdicts(ids: [0], queue: queue)
        // 2.
        let bind = Self.request(Self.messageConfig, queue: queue)
        bind.put(Self.configCommand, bytes: [Self.commandBind, 0] + bigEndian(UInt16(AF_INET)))
        // `nfqnl_msg_config_params`: be32 copy range, u8 copy mode (5 bytes, padded).
        let parameters = Self.request(Self.messageConfig, queue: queue)
        parameters.put(Self.configParameters, bytes: bigEndian(UInt32(0)) + [Self.copyMeta])
        parameters.put(Self.configMaxLength, bytes: bigEndian(Self.maximumHeld))
        parameters.put(Self.configMask, bytes: bigEndian(Self.flags))
        parameters.put(Self.configFlags, bytes: bigEndian(Self.flags))
        do {
            try configure(bind)
            try configure(parameters)
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
    public func close() { connection = nil }

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
        while connection != nil {
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

    /// Every packet message in a datagram (walked with libmnl, which checks each length against
    /// what is left): its id is held until its release time.
    func receive(_ datagram: ArraySlice<UInt8>, at now: Int64) {
        datagram.withUnsafeBytes { raw in
            guard var message = raw.baseAddress.map({ UnsafePointer($0.assumingMemoryBound(to: nlmsghdr.self)) }) else { return }
            var remaining = Int32(raw.count)
            while mnl_nlmsg_ok(message, remaining) {
                if message.pointee.nlmsg_type == Self.subsystemQueue | Self.messagePacket,
                   let id = Self.packetID(NetlinkMessage(copying: message)) {
                    hold(id, now: now)
                }
                message = UnsafePointer(mnl_nlmsg_next(message, &remaining)!)
            }
        }
    }

    /// Holds packet `id` until its delay (plus jitter) has passed, in release order.
    private func hold(_ id: UInt32, now: Int64) {
        var due = now + delayNanoseconds
        if jitterNanoseconds > 0 { due += Int64.random(in: -jitterNanoseconds...jitterNanoseconds) }
        let index = held.lastIndex { $0.due <= due }.map { $0 + 1 } ?? 0
        held.insert((due, id), at: index)
    }

    /// `NFQA_PACKET_HDR`'s packet id (`nfqnl_msg_packet_hdr`: be32 id first), after `nfgenmsg`.
    static func packetID(_ message: NetlinkMessage) -> UInt32? {
        guard let header = message.attributes(afterHeaderOfSize: MemoryLayout<nfgenmsg>.size).values[packetHeader],
              header.count >= 4 else { return nil }
        return header.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Accepts every packet whose release time has come, in as few sends as the socket's
    /// buffer allows (the kernel reads every message of a datagram).
    public func releaseDue(now: Int64) {
        var count = 0
        while count < held.count, held[count].due <= now { count += 1 }
        guard count > 0 else { return }
        if connection != nil {
            for start in stride(from: 0, to: count, by: Self.verdictsPerSend) {
                let message = Self.verdicts(ids: held[start..<min(start + Self.verdictsPerSend, count)].map(\.id), template: verdictTemplate)
                _ = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            }
        }
        held.removeFirst(count)
    }

    /// 32 KB of 32-byte verdicts: well within a netlink socket's send buffer.
    static let verdictsPerSend = 1024

    /// `NFQNL_MSG_VERDICT` with `NF_ACCEPT` for each id, one message after another; no ack is
    /// asked, as a verdict is sent per packet.
    static func verdicts(ids: [UInt32], queue: UInt16) -> [UInt8] {
        let request = Self.request(Self.messageVerdict, queue: queue, flags: NLM_F_REQUEST)
        // `nfqnl_msg_verdict_hdr`: be32 verdict, be32 id.
        request.put(Self.verdictHeader, bytes: bigEndian(Self.accept) + bigEndian(UInt32(0)))
        return verdicts(ids: ids, template: request.bytes)
    }

    /// The template (one verdict whose id is its last four bytes) once per id.
    static func verdicts(ids: [UInt32], template: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(template.count * ids.count)
        for id in ids {
            bytes += template.dropLast(4)
            bytes += bigEndian(id)
        }
        return bytes
    }

    /// An nfnetlink_queue message with its `nfgenmsg` (AF_UNSPEC, version 0, the queue number
    /// big-endian), attributes to be put.
    static func request(_ message: UInt16, queue: UInt16, flags: Int32 = NLM_F_REQUEST | NLM_F_ACK) -> NetlinkRequest {
        let request = NetlinkRequest(type: Int(subsystemQueue | message), flags: flags)
        request.putHeader(nfgenmsg(nfgen_family: UInt8(AF_UNSPEC), version: 0, res_id: queue.bigEndian))
        return request
    }

    /// Sends a configuration request and reads its ack.
    private func configure(_ request: NetlinkRequest) throws {
        guard let socket = connection?.socket else { return }
        let failure = { KernelError(operation: "configure nfqueue", object: "queue \(self.queue)", errno: $0) }
        guard mnl_socket_sendto(socket, request.buffer, request.length) == request.length else { throw failure(currentErrno()) }
        var reply = [UInt8](repeating: 0, count: 4096)
        let count = reply.withUnsafeMutableBytes { mnl_socket_recvfrom(socket, $0.baseAddress, $0.count) }
        guard count >= 20 else { throw failure(currentErrno()) }
        // The ack: `nlmsgerr`, whose first field is 0 or a negative errno.
        let ack = NetlinkMessage(bytes: Array(reply[..<count]))
        if ack.type == UInt16(NLMSG_ERROR), let error = ack.header(as: Int32.self), error != 0 { throw failure(-error) }
    }

    /// CLOCK_MONOTONIC in nanoseconds: the clock release times are kept in.
    public static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}


private func bigEndian<Value: FixedWidthInteger>(_ value: Value) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
