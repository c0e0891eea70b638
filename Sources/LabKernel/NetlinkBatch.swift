import CMnl
import Glibc

/// Several change requests laid end to end in one datagram, so the kernel handles them all in
/// one `send` — what `ip -batch` does, without a process.
///
/// The kernel (`netlink_rcv_skb`) walks the messages of a datagram in order and handles every
/// one of them, also after one has failed. It answers a message with an `NLMSG_ERROR` when the
/// message failed, or when it asked for an ack (`NLM_F_ACK`). So only the last message asks for
/// an ack: a batch that succeeds costs one send and one receive, and every failure still comes
/// back, with the failed message's own sequence number, before that last ack. The kernel has
/// handled every message by the time `send` returns (rtnetlink runs in the sender's context).
///
/// Bounded in messages and bytes: error replies queue in the socket's receive buffer (212 KiB
/// by default, about 1 KiB an error with `NETLINK_CAP_ACK`), so 128 failures still fit, and a
/// datagram must fit the send buffer. 128 holds the ~100 neighbour entries of a pod of a
/// 100-pod node in one datagram.
struct NetlinkBatch {
    static let maximumCount = 128
    static let maximumBytes = 32 * 1024

    private(set) var changes: [PreparedChange] = []
    private(set) var byteCount = 0

    var isEmpty: Bool { changes.isEmpty }
    var count: Int { changes.count }

    func hasRoom(for change: PreparedChange) -> Bool {
        changes.count < NetlinkBatch.maximumCount && byteCount + change.request.length <= NetlinkBatch.maximumBytes
    }

    mutating func append(_ change: PreparedChange) {
        changes.append(change)
        byteCount += change.request.length
    }

    /// The datagram: request `i` gets sequence number `firstSequence + i`, and `NLM_F_ACK` is
    /// cleared on every request but the last (and set on it). Each request's length is already
    /// a multiple of 4, so the next header starts aligned where the previous message ends.
    func encode(firstSequence: UInt32) -> [UInt8] {
        var datagram: [UInt8] = []
        datagram.reserveCapacity(byteCount)
        for (offset, change) in changes.enumerated() {
            let start = datagram.count
            datagram += UnsafeRawBufferPointer(start: change.request.buffer, count: change.request.length)
            var flags = UInt16(truncatingIfNeeded: Int(change.request.header.pointee.nlmsg_flags))
            if offset == changes.count - 1 { flags |= UInt16(NLM_F_ACK) } else { flags &= ~UInt16(NLM_F_ACK) }
            let sequence = firstSequence &+ UInt32(offset)
            datagram.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: flags, toByteOffset: start + 6, as: UInt16.self)
                raw.storeBytes(of: sequence, toByteOffset: start + 8, as: UInt32.self)
            }
        }
        return datagram
    }
}

/// What the kernel has answered to a batch so far: the failures by position in the batch, and
/// whether the last message's answer (the end of the reply) has arrived. Pure, so the matching
/// of answers to requests is tested on bytes.
struct NetlinkBatchReply {
    let firstSequence: UInt32
    let count: Int
    private(set) var failures: [Int: NetlinkAck] = [:]
    private(set) var finished = false

    init(firstSequence: UInt32, count: Int) {
        self.firstSequence = firstSequence
        self.count = count
    }

    /// The failure of the earliest request, which is the first in plan order: later ones may
    /// only be its consequences (ENODEV for a link whose creation failed).
    var firstFailure: (index: Int, ack: NetlinkAck)? {
        failures.min { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Reads one received datagram. Messages of other sequence numbers (a reply to an earlier,
    /// abandoned exchange) are skipped; a malformed error message counts as EBADMSG.
    mutating func receive(_ datagram: UnsafeRawBufferPointer) {
        guard var header = datagram.baseAddress?.assumingMemoryBound(to: nlmsghdr.self) else { return }
        var remaining = Int32(datagram.count)
        while mnl_nlmsg_ok(header, remaining) {
            let offset = Int(header.pointee.nlmsg_seq &- firstSequence)
            if Int32(header.pointee.nlmsg_type) == NLMSG_ERROR, offset < count {
                let ack = NetlinkAck(header: header) ?? NetlinkAck(sequence: header.pointee.nlmsg_seq, errno: EBADMSG)
                if ack.errno != 0 && failures[offset] == nil { failures[offset] = ack }
                if offset == count - 1 { finished = true }
            }
            header = UnsafePointer(mnl_nlmsg_next(header, &remaining)!)
        }
    }
}

/// An `NLMSG_ERROR` message: error 0 is an ack; anything else is `-errno`, perhaps with the
/// kernel's explanation in an extended-ack attribute after the `nlmsgerr`.
struct NetlinkAck: Equatable {
    var sequence: UInt32
    /// Positive; 0 for an ack.
    var errno: Int32
    var message: String? = nil

    init(sequence: UInt32, errno: Int32, message: String? = nil) {
        self.sequence = sequence
        self.errno = errno
        self.message = message
    }

    /// nil when the message is too short to hold a `nlmsgerr`.
    init?(header: UnsafePointer<nlmsghdr>) {
        let payloadLength = mnl_nlmsg_get_payload_len(header)
        guard payloadLength >= MemoryLayout<nlmsgerr>.size else { return nil }
        let payload = UnsafeRawPointer(mnl_nlmsg_get_payload(header)!)
        let error = payload.loadUnaligned(as: nlmsgerr.self)
        sequence = header.pointee.nlmsg_seq
        errno = -error.error
        let flags = Int32(header.pointee.nlmsg_flags)
        guard error.error != 0, flags & NLM_F_ACK_TLVS != 0 else { return }
        // Without NLM_F_CAPPED the kernel echoes our whole request before the attributes.
        var offset = MemoryLayout<nlmsgerr>.size
        if flags & NLM_F_CAPPED == 0 {
            offset += Int(error.msg.nlmsg_len) - MemoryLayout<nlmsghdr>.size
        }
        if offset < payloadLength {
            let attributes = NetlinkAttributes(parsing: UnsafeRawBufferPointer(start: payload + offset, count: payloadLength - offset))
            message = attributes.string(NLMSGERR_ATTR_MSG.rawValue)
        }
    }
}
