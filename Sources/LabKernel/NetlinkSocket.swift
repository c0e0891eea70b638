import CMnl
import Glibc
import Synchronization

/// A `NETLINK_ROUTE` socket bound inside one network namespace, and the request/reply exchange
/// over it: send one request, read until the kernel's ack, error or `NLMSG_DONE`.
///
/// A netlink socket belongs to the namespace it was *created* in, whatever thread later uses
/// it; so only `socket(2)` runs inside the namespace (one thread hop), and every later request
/// is a plain send and receive from the caller's thread.
final class NetlinkSocket: @unchecked Sendable {
    let namespace: NetworkNamespace
    private let socket: OpaquePointer
    private let portID: UInt32
    /// One exchange at a time: replies are matched to requests by sequence number, so two
    /// threads interleaving on one socket would read each other's replies. Holds the last
    /// sequence number used.
    private let lastSequence = Mutex<UInt32>(0)
    private let receiveBuffer: UnsafeMutableRawPointer
    private let receiveBufferSize = Int(lab_netlink_receive_buffer_size)

    /// 1. `socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)` on a thread inside
    ///    `namespace`.
    /// 2. Hand it to libmnl and bind with an automatic port id.
    /// 3. Ask for extended acks (the kernel's reason in words) with the request itself left out
    ///    of error replies (`NETLINK_CAP_ACK`): we have the request already.
    ///
    /// `alreadyInside`: the calling thread is inside `namespace` (`NetworkNamespace.create`'s
    /// body), so step 1 needs no thread of its own.
    init(in namespace: NetworkNamespace, alreadyInside: Bool = false) throws {
        let open: @Sendable () throws -> Int32 = {
            let fd = Glibc.socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), NETLINK_ROUTE)
            guard fd >= 0 else {
                throw KernelError(operation: "open netlink socket", object: "NETLINK_ROUTE", namespace: namespace.name, errno: currentErrno())
            }
            return fd
        }
        let fd = try alreadyInside ? open() : namespace.perform(open)
        guard let socket = mnl_socket_fdopen(fd) else {
            let error = currentErrno()
            close(fd)
            throw KernelError(operation: "open netlink socket", object: "NETLINK_ROUTE", namespace: namespace.name, errno: error)
        }
        guard mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
            let error = currentErrno()
            mnl_socket_close(socket)
            throw KernelError(operation: "bind netlink socket", object: "NETLINK_ROUTE", namespace: namespace.name, errno: error)
        }
        var one: Int32 = 1
        // Older kernels refuse these; errors then simply come without the kernel's words.
        _ = mnl_socket_setsockopt(socket, NETLINK_EXT_ACK, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = mnl_socket_setsockopt(socket, NETLINK_CAP_ACK, &one, socklen_t(MemoryLayout<Int32>.size))
        self.namespace = namespace
        self.socket = socket
        self.portID = mnl_socket_get_portid(socket)
        self.receiveBuffer = .allocate(byteCount: Int(lab_netlink_receive_buffer_size), alignment: 8)
    }

    deinit {
        mnl_socket_close(socket)
        receiveBuffer.deallocate()
    }

    /// Sends `request` and returns the data messages of the reply (none for a plain ack).
    /// A kernel error becomes a `KernelError` with `operation` and `object`, errno kept.
    ///
    /// A dump the kernel marks as interrupted (`NLM_F_DUMP_INTR`: the table changed while it
    /// was being read, so the result may be inconsistent) is read to its end and asked for
    /// again, up to three times, as iproute2 does. Changes are never re-sent.
    func exchange(_ request: NetlinkRequest, operation: String, object: String) throws -> [NetlinkMessage] {
        try lastSequence.withLock { sequence in
            var attempts = 0
            while true {
                sequence &+= 1
                request.sequence = sequence
                let reply = sendAndReceive(request, sequence: sequence)
                if reply.interruptedDump && attempts < 3 {
                    attempts += 1
                    continue
                }
                if let failure = reply.failure {
                    throw KernelError(operation: operation, object: object, namespace: namespace.name,
                                      errno: failure.errno, kernelMessage: failure.message)
                }
                return reply.messages
            }
        }
    }

    /// Sends every change of `batch` in one datagram and reads the answers (see `NetlinkBatch`).
    /// The kernel handles all of them even when one fails; the failure of the earliest one is
    /// thrown, worded exactly as `exchange` would word it for that change alone.
    func exchange(_ batch: NetlinkBatch) throws {
        guard !batch.isEmpty else { return }
        try lastSequence.withLock { sequence in
            let first = sequence &+ 1
            sequence &+= UInt32(batch.count)
            let datagram = batch.encode(firstSequence: first)
            // The kernel reads peer namespace fds while it handles the datagram, inside `send`.
            let sent = withExtendedLifetime(batch.changes) {
                datagram.withUnsafeBytes { mnl_socket_sendto(socket, $0.baseAddress, $0.count) }
            }
            guard sent >= 0 else { throw failure(of: batch.changes[0], errno: currentErrno(), message: nil) }
            var reply = NetlinkBatchReply(firstSequence: first, count: batch.count)
            while !reply.finished {
                let received = mnl_socket_recvfrom(socket, receiveBuffer, receiveBufferSize)
                if received < 0 {
                    let error = currentErrno()
                    if error == EINTR { continue }
                    // ENOBUFS: answers were dropped, so which change failed is unknown; the
                    // batch as a whole has failed.
                    throw KernelError(operation: "read netlink answers", object: "\(batch.count) requests from \(batch.changes[0].operation) \(batch.changes[0].object)",
                                      namespace: namespace.name, errno: error)
                }
                reply.receive(UnsafeRawBufferPointer(start: receiveBuffer, count: received))
            }
            if let (index, ack) = reply.firstFailure {
                throw failure(of: batch.changes[index], errno: ack.errno, message: ack.message)
            }
        }
    }

    private func failure(of change: PreparedChange, errno: Int32, message: String?) -> KernelError {
        KernelError(operation: change.operation, object: change.object, namespace: namespace.name, errno: errno, kernelMessage: message)
    }

    /// One request and its whole reply: everything up to the ack, the error or `NLMSG_DONE`.
    private func sendAndReceive(_ request: NetlinkRequest, sequence: UInt32) -> ReplyCollector {
        let reply = ReplyCollector()
        guard mnl_socket_sendto(socket, request.buffer, request.length) >= 0 else {
            reply.failure = ReplyCollector.Failure(errno: currentErrno(), message: nil)
            return reply
        }
        let context = Unmanaged.passUnretained(reply).toOpaque()
        var status = MNL_CB_OK
        while status > MNL_CB_STOP {
            let received = mnl_socket_recvfrom(socket, receiveBuffer, receiveBufferSize)
            if received < 0 {
                let error = currentErrno()
                if error == EINTR { continue }  // a signal, not the kernel: read again
                reply.failure = ReplyCollector.Failure(errno: error, message: nil)
                return reply
            }
            // libmnl's prototype takes the table as non-const, hence a mutable copy.
            var callbacks = controlCallbacks
            status = withExtendedLifetime(reply) {
                callbacks.withUnsafeMutableBufferPointer { control in
                    mnl_cb_run2(receiveBuffer, received, sequence, portID, collectDataMessage, context,
                                control.baseAddress, UInt32(control.count))
                }
            }
            if status < MNL_CB_STOP && reply.failure == nil {
                // libmnl's own checks failed (wrong port or sequence, or an interrupted dump)
                // and set errno.
                let error = currentErrno()
                reply.failure = ReplyCollector.Failure(errno: error, message: nil)
                if error == EINTR {
                    reply.interruptedDump = true
                    skipRestOfDump(sequence: sequence, alreadyReceived: received)
                }
            }
        }
        return reply
    }

    /// Reads and drops the rest of an abandoned dump up to its `NLMSG_DONE` (or error), so the
    /// next exchange does not find stale messages first. The end may already be in the buffer
    /// libmnl stopped reading.
    private func skipRestOfDump(sequence: UInt32, alreadyReceived: Int) {
        var received = alreadyReceived
        while received > 0 {
            var header = UnsafePointer(receiveBuffer.assumingMemoryBound(to: nlmsghdr.self))
            var remaining = Int32(received)
            while mnl_nlmsg_ok(header, remaining) {
                let type = Int32(header.pointee.nlmsg_type)
                if header.pointee.nlmsg_seq == sequence && (type == NLMSG_DONE || type == NLMSG_ERROR) { return }
                header = UnsafePointer(mnl_nlmsg_next(header, &remaining)!)
            }
            repeat {
                received = mnl_socket_recvfrom(socket, receiveBuffer, receiveBufferSize)
            } while received < 0 && currentErrno() == EINTR
        }
    }
}

/// What the callbacks gathered from one reply; passed to libmnl as the `void *data` context.
private final class ReplyCollector {
    struct Failure {
        var errno: Int32
        var message: String?
    }

    var messages: [NetlinkMessage] = []
    var failure: Failure?
    var interruptedDump = false
}

/// Data messages (type ≥ `NLMSG_MIN_TYPE`): keep a copy, read on.
private let collectDataMessage: mnl_cb_t = { header, context in
    let collector = Unmanaged<ReplyCollector>.fromOpaque(context!).takeUnretainedValue()
    collector.messages.append(NetlinkMessage(copying: header!))
    return MNL_CB_OK
}

/// `NLMSG_ERROR`: error 0 is the ack that ends a change; anything else is the failure
/// (`NetlinkAck` reads the errno and the kernel's words).
private let receiveError: mnl_cb_t = { header, context in
    let collector = Unmanaged<ReplyCollector>.fromOpaque(context!).takeUnretainedValue()
    guard let ack = NetlinkAck(header: header!) else {
        collector.failure = ReplyCollector.Failure(errno: EBADMSG, message: nil)
        return MNL_CB_ERROR
    }
    if ack.errno == 0 { return MNL_CB_STOP }
    collector.failure = ReplyCollector.Failure(errno: ack.errno, message: ack.message)
    return MNL_CB_ERROR
}

/// `NLMSG_DONE` ends a dump; since Linux 4.x it carries an int that is `-errno` when the dump
/// itself failed part-way.
private let receiveDone: mnl_cb_t = { header, context in
    let collector = Unmanaged<ReplyCollector>.fromOpaque(context!).takeUnretainedValue()
    let header = header!
    if mnl_nlmsg_get_payload_len(header) >= MemoryLayout<Int32>.size {
        let status = UnsafeRawPointer(mnl_nlmsg_get_payload(header)!).loadUnaligned(as: Int32.self)
        if status < 0 {
            collector.failure = ReplyCollector.Failure(errno: -status, message: nil)
            return MNL_CB_ERROR
        }
    }
    return MNL_CB_STOP
}

/// Indexed by control message type: 0 unused, `NLMSG_NOOP`, `NLMSG_ERROR`, `NLMSG_DONE`.
/// (`NLMSG_OVERRUN` and above fall back to libmnl's defaults.)
private let controlCallbacks: [mnl_cb_t?] = [nil, nil, receiveError, receiveDone]
