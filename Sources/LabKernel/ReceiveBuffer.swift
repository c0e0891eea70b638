import Glibc

/// A socket's receive queue made deep enough for a burst, so what arrives while its reader waits
/// for a turn of the CPU is not dropped: `SO_RCVBUFFORCE`, which root (as `lab` runs) may set
/// past `net.core.rmem_max`; where that is refused, `SO_RCVBUF` with `fallback`, which the kernel
/// caps at `rmem_max`. Best effort either way: a socket that keeps the default still works.
public enum ReceiveBuffer {
    public static func deepen(_ fd: Int32, to bytes: Int32, fallback: Int32? = nil) {
        let length = socklen_t(MemoryLayout<Int32>.size)
        var value = bytes
        guard setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &value, length) != 0 else { return }
        value = fallback ?? bytes
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, length)
    }
}
