import Glibc

/// A connection taken off a listener's accept queue, with the peer address the kernel reported
/// (the same address `getpeername` gives, without a second system call).
struct AcceptedSocket {
    var fd: Int32
    var peer: SocketAddress

    /// `accept4(listener, …, SOCK_NONBLOCK | SOCK_CLOEXEC)`; on failure the errno.
    ///
    /// The flags are set by the kernel in the same call, so no thread of the supervisor can
    /// fork a container process between an `accept` and an `fcntl` and leak the connection
    /// into it. Swift's Glibc module is built without `_GNU_SOURCE`, which is what declares
    /// `accept4`, so the function is looked up by name once; plain `accept` plus `fcntl` is
    /// only the fallback for a libc without it.
    static func accept(from listener: Int32) -> Result<AcceptedSocket, AcceptFailure> {
        var peer = SocketAddress()
        let fd = peer.withMutableSockaddr { address, length in
            if let accept4 = accept4Function {
                return accept4(listener, address, length, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
            }
            let fd = Glibc.accept(listener, address, length)
            if fd >= 0 {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            }
            return fd
        }
        guard fd >= 0 else { return .failure(AcceptFailure(code: errno)) }
        return .success(AcceptedSocket(fd: fd, peer: peer))
    }

    private typealias Accept4 = @convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32

    /// `dlsym(RTLD_DEFAULT, "accept4")`; RTLD_DEFAULT is the null handle.
    private static let accept4Function: Accept4? = dlsym(nil, "accept4").map { unsafeBitCast($0, to: Accept4.self) }
}

/// Why `accept` failed: the errno, which the loop sorts into "try the next one" and "pause".
struct AcceptFailure: Error, Equatable {
    var code: Int32
}
