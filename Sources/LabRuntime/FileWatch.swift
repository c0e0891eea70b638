import Foundation
import LabKernel

/// Wakes its caller when a file or a directory's entries change (inotify), so a waiter reads
/// again on the event instead of sleeping between reads: `lab up` waiting for the supervisor's
/// report (written atomically, a rename into the state directory), `lab logs -f` waiting for
/// a container to write.
public final class FileWatch {
    private let fd: Int32

    /// A file or a directory is written or replaced.
    public static let written = UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_MODIFY)

    /// Nil when inotify cannot watch `path` (out of instances, say): callers then wait out the
    /// slice of `Optional.wait`, which still ends by its deadline.
    public init?(path: String, events: UInt32 = FileWatch.written) {
        fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else { return nil }
        guard inotify_add_watch(fd, path, events) >= 0 else {
            close(fd)
            return nil
        }
    }

    /// Returns when something changed or at `deadline`, whichever is first. Events are
    /// drained: a caller reads again after every return.
    public func wait(until deadline: Date) {
        wait(until: deadline, orExitOf: nil)
    }

    /// As `wait(until:)`, and also returns when `process` has exited (at once if it has).
    public func wait(until deadline: Date, orExitOf process: PidFD?) {
        let milliseconds = Int32(min(max(0, deadline.timeIntervalSinceNow * 1000).rounded(.up), 60_000))
        var ready = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        if let process { ready.append(pollfd(fd: process.fd, events: Int16(POLLIN), revents: 0)) }
        guard poll(&ready, nfds_t(ready.count), milliseconds) > 0, ready[0].revents != 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while read(fd, &buffer, buffer.count) > 0 {}
    }

    deinit { close(fd) }
}

extension Optional where Wrapped == FileWatch {
    /// As `wait(until:slice:)`, and also returns when `process` exits. With both a watch and a
    /// pidfd there is nothing to look for at intervals, so the slice does not apply.
    public func wait(until deadline: Date, orExitOf process: PidFD?, slice: Double) {
        guard let watch = self, let process else { return wait(until: deadline, slice: slice) }
        watch.wait(until: deadline, orExitOf: process)
    }

    /// As `FileWatch.wait`, but returns after `slice` seconds at the latest; without a watch,
    /// that slice is all it waits.
    public func wait(until deadline: Date, slice: Double) {
        let end = min(deadline, Date().addingTimeInterval(slice))
        if let watch = self {
            watch.wait(until: end)
        } else {
            var none = pollfd(fd: -1, events: 0, revents: 0)
            _ = poll(&none, 1, Int32(max(0, end.timeIntervalSinceNow * 1000).rounded(.up)))
        }
    }
}
