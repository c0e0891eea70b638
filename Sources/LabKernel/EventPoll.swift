import CEpoll
import Glibc

/// An `epoll(7)` instance: the cost of a wake-up is the number of ready descriptors, not the
/// number watched, so thousands of probes (or agent connections) in flight cost nothing while
/// they wait. Each registration carries a 64-bit tag that comes back with its readiness.
public final class EventPoll {
    public static let readable = UInt32(EPOLLIN.rawValue)
    public static let writable = UInt32(EPOLLOUT.rawValue)
    public static let error = UInt32(EPOLLERR.rawValue)
    public static let hangUp = UInt32(EPOLLHUP.rawValue)

    public let fd: Int32
    private var tags = [UInt64](repeating: 0, count: 512)
    private var events = [UInt32](repeating: 0, count: 512)

    public init() throws(KernelErrno) {
        fd = lab_epoll_create()
        guard fd >= 0 else { throw KernelErrno(code: errno, operation: "epoll_create1") }
    }

    deinit { close(fd) }

    /// Watches `descriptor` for `events` (level-triggered). 0 or the errno.
    @discardableResult
    public func add(_ descriptor: Int32, events: UInt32, tag: UInt64) -> Int32 {
        lab_epoll_ctl(fd, 1, descriptor, events, tag) == 0 ? 0 : errno
    }

    @discardableResult
    public func modify(_ descriptor: Int32, events: UInt32, tag: UInt64) -> Int32 {
        lab_epoll_ctl(fd, 3, descriptor, events, tag) == 0 ? 0 : errno
    }

    /// Stops watching; closing the descriptor does the same.
    public func remove(_ descriptor: Int32) {
        _ = lab_epoll_ctl(fd, 2, descriptor, 0, 0)
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and calls `body` with each ready tag and
    /// its events. Returns false on an error other than EINTR.
    public func wait(timeoutMilliseconds: Int32, _ body: (UInt64, UInt32) -> Void) -> Bool {
        let count = tags.withUnsafeMutableBufferPointer { tagBuffer in
            events.withUnsafeMutableBufferPointer { eventBuffer in
                lab_epoll_wait(fd, tagBuffer.baseAddress, eventBuffer.baseAddress, Int32(tagBuffer.count), timeoutMilliseconds)
            }
        }
        if count < 0 { return errno == EINTR }
        for index in 0..<Int(count) { body(tags[index], events[index]) }
        return true
    }
}

/// An errno with the call that returned it.
public struct KernelErrno: Error, CustomStringConvertible {
    public var code: Int32
    public var operation: String
    public var description: String { "\(operation): \(String(cString: strerror(code)))" }
}

/// The descriptor limit: probes and agent connections each hold one, so both raise the soft
/// limit to the hard one (what an unprivileged process may do) before sizing their windows.
public enum DescriptorLimit {
    /// Raises `RLIMIT_NOFILE`'s soft limit to its hard limit (capped at 1,048,576) and returns
    /// the soft limit now in force.
    @discardableResult
    public static func raise() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        let wanted = min(limit.rlim_max, 1 << 20)
        if limit.rlim_cur < wanted {
            var raised = limit
            raised.rlim_cur = wanted
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(min(limit.rlim_cur, 1 << 20))
    }
}
