import CProcess
import Glibc

/// A pidfd (Linux 5.3): a descriptor that refers to one process, whoever its parent is. It
/// becomes readable when the process exits, so an exit is an event to poll for, and a signal
/// sent through it cannot reach another process that has since taken the same pid.
public final class PidFD {
    public let fd: Int32
    public let pid: Int32

    /// Nil when the process is gone (and reaped) or no descriptor is to be had.
    ///
    /// Equivalent to: `pidfd_open(pid, 0)`
    public init?(pid: Int32) {
        let fd = lab_pidfd_open(pid)
        guard fd >= 0 else { return nil }
        self.fd = fd
        self.pid = pid
    }

    deinit { close(fd) }

    /// Sends `signal`; false when the process is gone (ESRCH).
    @discardableResult
    public func signal(_ signal: Int32) -> Bool { lab_pidfd_send_signal(fd, signal) == 0 }

    /// Whether it has exited (a zombie counts: it has exited, only its parent's wait is missing).
    public var hasExited: Bool { PidFD.readable([self], milliseconds: 0).first == true }

    /// Waits until it exits or `deadline` passes; true when it has exited.
    public func waitForExit(deadline: ContinuousClock.Instant) -> Bool {
        PidFD.readable([self], milliseconds: PidFD.milliseconds(until: deadline)).first == true
    }

    /// One poll over `processes`: for each, whether it has exited. Waits up to `milliseconds`
    /// (-1: forever) for the first one.
    public static func readable(_ processes: [PidFD], milliseconds: Int32) -> [Bool] {
        var set = processes.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        var ready: Int32
        repeat { ready = poll(&set, nfds_t(set.count), milliseconds) } while ready < 0 && errno == EINTR
        guard ready > 0 else { return Array(repeating: false, count: processes.count) }
        return set.map { $0.revents != 0 }
    }

    /// What poll's timeout is for `deadline`, rounded up so a wait never ends before it.
    static func milliseconds(until deadline: ContinuousClock.Instant) -> Int32 {
        let left = ContinuousClock.now.duration(to: deadline)
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(min(milliseconds, Int64(Int32.max)))
    }
}
