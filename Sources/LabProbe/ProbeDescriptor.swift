import Glibc

/// A file descriptor that closes itself when its last owner lets go, so no path out of a
/// conversation (an answer, a timeout, an error, the loop giving up) leaks a socket.
final class ProbeDescriptor {
    let fd: Int32

    init(_ fd: Int32) { self.fd = fd }

    deinit { close(fd) }
}
