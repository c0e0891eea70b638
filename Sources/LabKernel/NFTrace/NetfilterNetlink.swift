import CMnl
import Glibc

/// A `NETLINK_NETFILTER` socket opened inside a namespace, for the trace listener and the
/// conntrack queries alike: the socket belongs to the namespace it was created in, so events
/// and entries are that namespace's.
enum NetfilterNetlink {
    /// 1. `socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER)` inside `namespace`.
    /// 2. A larger receive buffer when asked (a burst of trace events or queued packets must not
    ///    overrun it).
    /// 3. Bind, joining `groups` (a bit mask; 0 for none).
    static func open(in namespace: NetworkNamespace, nonBlocking: Bool = false, receiveBuffer: Int32? = nil, groups: UInt32 = 0,
                     bindOperation: String = "bind netlink socket", object: String = "NETLINK_NETFILTER") throws -> OpaquePointer {
        let fd = try namespace.perform {
            let flags = Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | (nonBlocking ? Int32(SOCK_NONBLOCK.rawValue) : 0)
            let fd = Glibc.socket(AF_NETLINK, flags, NFTraceListener.netlinkNetfilter)
            guard fd >= 0 else {
                throw KernelError(operation: "open netlink socket", object: "NETLINK_NETFILTER", namespace: namespace.name, errno: currentErrno())
            }
            return fd
        }
        // Root may go past `rmem_max` (FORCE); anyone else gets what `rmem_max` allows.
        if var size = receiveBuffer, setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
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
