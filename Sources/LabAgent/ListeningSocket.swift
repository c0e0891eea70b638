import Glibc
import LabKernel

/// Opening the socket of one agent port, in whatever network namespace the calling thread is in.
enum ListeningSocket {
    /// Equivalent to what `nc -l ADDRESS PORT` (or `nc -u -l`) does before waiting.
    ///
    /// 1. `socket(…, SOCK_NONBLOCK | SOCK_CLOEXEC)`: the event loop never blocks on it, and
    ///    processes the supervisor starts never inherit it.
    /// 2. TCP only: `SO_REUSEADDR`, so a restarted supervisor can listen again while the old
    ///    one's connections sit in TIME_WAIT. Never for UDP: there it lets two sockets bind the
    ///    same port silently, and a port that is taken must be an error.
    /// 3. UDP only: a deep receive queue (`ReceiveBuffer`).
    /// 4. IPv6 only: `IPV6_V6ONLY`, so `::` does not also claim the IPv4 port.
    /// 5. `bind`, then `listen` for TCP (the kernel's accept queue holds what arrives between
    ///    two turns of the loop), then `getsockname` for the port the kernel chose for port 0.
    ///
    /// Returns the descriptor and the bound port; on failure nothing stays open.
    static func open(_ listener: AgentListener) throws(AgentError) -> (fd: Int32, port: Int) {
        guard let address = SocketAddress(ip: listener.address, port: listener.port) else {
            throw AgentError(listener: listener, operation: "parse address", errno: EINVAL)
        }
        let type = listener.protocol == .udp ? SOCK_DGRAM : SOCK_STREAM
        let fd = socket(address.family, Int32(type.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw AgentError(listener: listener, operation: "socket", errno: errno) }

        func fail(_ operation: String) -> AgentError {
            let error = AgentError(listener: listener, operation: operation, errno: errno)
            close(fd)
            return error
        }

        var on: Int32 = 1
        let optionLength = socklen_t(MemoryLayout<Int32>.size)
        if listener.protocol != .udp {
            guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, optionLength) == 0 else { throw fail("set SO_REUSEADDR") }
        }
        if listener.protocol == .udp {
            // Datagrams that come together (a verify's probes to one pod) wait in the socket
            // until the loop's turn; the default queue holds a few hundred small ones.
            ReceiveBuffer.deepen(fd, to: 2 << 20)
        }
        if address.family == AF_INET6 {
            guard setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, optionLength) == 0 else { throw fail("set IPV6_V6ONLY") }
        }
        guard address.withSockaddr({ bind(fd, $0, $1) }) == 0 else { throw fail("bind") }
        if listener.protocol != .udp {
            guard listen(fd, SOMAXCONN) == 0 else { throw fail("listen") }
        }
        guard let bound = SocketAddress.local(of: fd) else { throw fail("getsockname") }
        return (fd, bound.port)
    }
}
