import Foundation

/// Serialises `up` and `down` of one lab: an exclusive `flock` on `/run/lab/.<lab>.lock`.
/// The kernel drops the lock when the process dies, so a crashed `up` never wedges the lab.
///
/// `down` removes the lock file when it is done, so a waiter may wake up holding a lock on a
/// file that is no longer at the path; it then starts over with the new file. Whoever holds a
/// lock on the file that *is* at the path holds the lab's lock.
public final class LabLock {
    private var fd: Int32 = -1
    public let path: String

    /// How long `up` and `down` wait for another run of the same lab before giving up.
    public static let defaultTimeout: Double = 30
    static let timeoutVariable = "LAB_LOCK_TIMEOUT"

    /// `LAB_LOCK_TIMEOUT` (seconds, e.g. `1` or `0.5`) when it is a usable number, else the
    /// default: CI and tests want a short wait, and a typo must not turn the wait into forever
    /// or into no wait at all.
    public static var timeoutFromEnvironment: Double {
        timeout(parsing: ProcessInfo.processInfo.environment[timeoutVariable])
    }

    /// The timeout `text` asks for, or `defaultTimeout` when it is missing, not a number,
    /// negative, infinite or NaN.
    public static func timeout(parsing text: String?) -> Double {
        guard let text, let seconds = Double(text.trimmingCharacters(in: .whitespaces)),
              seconds.isFinite, seconds >= 0 else { return defaultTimeout }
        return seconds
    }

    /// Waits up to `timeout` seconds for the lock, calling `waiting` once if it has to wait.
    public init(path: String, timeout: Double = LabLock.timeoutFromEnvironment, waiting: () -> Void = {}) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        let deadline = Date().addingTimeInterval(timeout)
        var announced = false
        while true {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            if fd < 0 {
                // The directory was removed between the two calls (`down` of the last lab): again.
                if errno == ENOENT, Date() < deadline { continue }
                throw RuntimeError.io(operation: "open", path: path, errno: errno)
            }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                if holdsFileAtPath() { return }
            } else if errno != EWOULDBLOCK {
                let code = errno
                close(fd)
                throw RuntimeError.io(operation: "flock", path: path, errno: code)
            } else {
                if !announced { waiting(); announced = true }
                if Date() > deadline {
                    close(fd)
                    throw RuntimeError.busy(path: path, seconds: timeout)
                }
                // The kernel offers no event for a released flock (inotify does not report it)
                // and no blocking flock with a timeout, so look again every 50 ms until the
                // deadline.
                usleep(50_000)
            }
            close(fd)
            fd = -1
        }
    }

    /// Whether our descriptor is the file currently at `path` (not one `down` has unlinked).
    private func holdsFileAtPath() -> Bool {
        var held = stat(), current = stat()
        guard fstat(fd, &held) == 0, stat(path, &current) == 0 else { return false }
        return held.st_dev == current.st_dev && held.st_ino == current.st_ino
    }

    deinit { if fd >= 0 { close(fd) } }
}
