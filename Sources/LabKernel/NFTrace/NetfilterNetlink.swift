import CMnl
import Glibc

/// A `NETLINK_NETFILTER` socket opened inside a namespace, with its receive buffer, for the
/// trace listener and the conntrack queries alike: the socket belongs to the namespace it was
/// created in, so events and entries are that namespace's. Closed when released.
final class NetfilterNetlink {
    let namespace: String
    let socket: OpaquePointer
    private let buffer: UnsafeMutableRawPointer
    private let bufferSize = Int(lab_netlink_receive_buffer_size)

    init(in namespace: NetworkNamespace, nonBlocking: Bool = false, receiveBuffer: Int32? = nil, groups: UInt32 = 0,
         bindOperation: String = "bind netlink socket", object: String = "NETLINK_NETFILTER") throws {
        socket = try Self.open(in: namespace, nonBlocking: nonBlocking, receiveBuffer: receiveBuffer, groups: groups,
                               bindOperation: bindOperation, object: object)
        self.namespace = namespace.name
        buffer = .allocate(byteCount: bufferSize, alignment: 8)
    }

    deinit {
        mnl_socket_close(socket)
        buffer.deallocate()
    }

    /// One `recvfrom` (EINTR retried): the whole messages it read, each with its header; the
    /// errno when it failed (EAGAIN: nothing queued on a non-blocking socket).
    func receive() -> Result<[[UInt8]], KernelErrno> {
        while true {
            let received = mnl_socket_recvfrom(socket, buffer, bufferSize)
            if received < 0 {
                let error = currentErrno()
                if error == EINTR { continue }
                return .failure(KernelErrno(code: error, operation: "recvfrom"))
            }
            var messages: [[UInt8]] = []
            var offset = 0
            while offset + 16 <= received {
                let length = Int(buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                guard length >= 16, offset + length <= received else { break }
                messages.append(Array(UnsafeRawBufferPointer(start: buffer + offset, count: length)))
                offset += (length + 3) & ~3
            }
            return .success(messages)
        }
    }

    /// 1. `socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER)` inside `namespace`.
    /// 2. A larger receive buffer when asked (a burst of trace events or queued packets must not
    ///    overrun it).
    /// 3. Bind, joining `groups` (a bit mask; 0 for none).
    private static func open(in namespace: NetworkNamespace, nonBlocking: Bool, receiveBuffer: Int32?, groups: UInt32,
                             bindOperation: String, object: String) throws -> OpaquePointer {
        let fd = try namespace.perform {
            let flags = Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | (nonBlocking ? Int32(SOCK_NONBLOCK.rawValue) : 0)
            let fd = Glibc.socket(AF_NETLINK, flags, NFTraceListener.netlinkNetfilter)
            guard fd >= 0 else {
                throw KernelError(operation: "open netlink socket", object: "NETLINK_NETFILTER", namespace: namespace.name, errno: currentErrno())
            }
            return fd
        }
        if let receiveBuffer { ReceiveBuffer.deepen(fd, to: receiveBuffer) }
        guard let socket = mnl_socket_fdopen(fd) else {
            let error = currentErrno()
            close(fd)
            throw KernelError(operation: "open netlink socket", object: "NETLINK_NETFILTER", namespace: namespace.name, errno: error)
        }
        guard mnl_socket_bind(socket, groups, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
            let error = currentErrno()
            mnl_socket_close(socket)
            throw KernelError(operation: bindOperation, object: object, namespace: namespace.name, errno: error)
        }
        return socket
    }
}
