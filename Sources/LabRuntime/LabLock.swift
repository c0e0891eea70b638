import Foundation

/// Serialises `up` and `down` of one lab: an exclusive `flock` on `/run/lab/.<lab>.lock`.
/// The kernel drops the lock when the process dies, so a crashed `up` never wedges the lab.
public final class LabLock {
    private let fd: Int32
    public let path: String

    /// Waits up to `timeout` seconds for the lock, calling `waiting` once if it has to wait.
    public init(path: String, timeout: Double = 30, waiting: () -> Void = {}) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RuntimeError.io(operation: "open", path: path, errno: errno) }
        let deadline = Date().addingTimeInterval(timeout)
        var announced = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK else {
                let code = errno
                close(fd)
                throw RuntimeError.io(operation: "flock", path: path, errno: code)
            }
            if !announced { waiting(); announced = true }
            if Date() > deadline {
                close(fd)
                throw RuntimeError.busy(path: path, seconds: timeout)
            }
            usleep(50_000)
        }
    }

    deinit { close(fd) }
}
