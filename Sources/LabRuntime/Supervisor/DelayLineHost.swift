import Foundation
import LabKernel
import LabPlan
import Synchronization

/// One delayed direction as the supervisor serves it; `lab status` reads these from the
/// supervisor's report.
public struct DelayLineStatus: Sendable, Codable, Hashable {
    public var object: String
    public var netns: String
    public var link: String
    public var direction: DelayQueue.Direction
    public var queue: UInt16
    public var delayMicroseconds: Int
    public var jitterMicroseconds: Int
    /// Why the queue could not be bound (the link then drops what the rule queues).
    public var error: String?
}

/// The delay lines of a lab (`DelayQueue`, on a kernel without netem): one NFQUEUE socket per
/// delayed direction, opened inside its namespace, and one thread that serves them all — it
/// waits on every socket and on the earliest release time at once, so a packet's delay does
/// not depend on how many links are delayed.
///
/// The supervisor's main thread opens sockets and hands them over; only the serving thread
/// reads, accepts and closes them. A line that is no longer wanted accepts what it holds
/// before its socket closes (closing drops held packets).
final class DelayLineHost: @unchecked Sendable {
    /// A queue of one namespace as it is now: a namespace deleted and made again under the
    /// same name is another one, whose queue needs a socket of its own.
    struct Key: Hashable {
        var netns: String
        var identity: NamespaceIdentity?
        var queue: UInt16
    }

    private struct Shared: @unchecked Sendable {
        var lines: [Key: NFQueueDelayLine] = [:]
        /// New delay and jitter (microseconds) for a line, applied by the serving thread.
        var settings: [Key: (Int, Int)] = [:]
        var retired: [NFQueueDelayLine] = []
        var stopping = false
    }

    private let shared = Mutex(Shared())
    private let wakeReader: Int32, wakeWriter: Int32
    private let finished = DispatchSemaphore(value: 0)
    private var current: [Key: DelayQueue] = [:]

    init() throws {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            throw KernelError(operation: "create pipe", object: "delay line", errno: errno)
        }
        (wakeReader, wakeWriter) = (ends[0], ends[1])
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
        }
        let thread = Thread { [self] in serve() }
        thread.name = "delay line"
        thread.start()
    }

    /// Makes the served queues `queues`: opens new ones, changes the delay of kept ones in place
    /// (held packets keep their release time), retires the rest. One row per queue.
    func converge(_ queues: [DelayQueue]) -> [DelayLineStatus] {
        var wanted: [Key: DelayQueue] = [:]
        var rows: [DelayLineStatus] = []
        var opened: [Key: NFQueueDelayLine] = [:]
        for queue in queues {
            var row = DelayLineStatus(object: queue.object, netns: queue.netns, link: queue.link, direction: queue.direction,
                                      queue: queue.queue, delayMicroseconds: queue.delayMicroseconds,
                                      jitterMicroseconds: queue.jitterMicroseconds)
            do {
                let namespace = try NetworkNamespace.open(queue.netns)
                let key = Key(netns: queue.netns, identity: NamespaceIdentity(descriptor: namespace.fd), queue: queue.queue)
                wanted[key] = queue
                if current[key] == nil {
                    opened[key] = try NFQueueDelayLine(in: namespace, queue: queue.queue, delayMicroseconds: queue.delayMicroseconds,
                                                       jitterMicroseconds: queue.jitterMicroseconds)
                }
            } catch {
                row.error = "\(error)"
            }
            rows.append(row)
        }
        let previous = current
        current = wanted.filter { key, _ in previous[key] != nil || opened[key] != nil }
        shared.withLock { shared in
            for (key, line) in opened { shared.lines[key] = line }
            for (key, queue) in current where previous[key].map({ $0.delayMicroseconds != queue.delayMicroseconds
                || $0.jitterMicroseconds != queue.jitterMicroseconds }) == true {
                shared.settings[key] = (queue.delayMicroseconds, queue.jitterMicroseconds)
            }
            for key in previous.keys where current[key] == nil {
                if let line = shared.lines.removeValue(forKey: key) { shared.retired.append(line) }
            }
        }
        wake()
        return rows
    }

    /// Accepts every held packet, closes every socket and ends the serving thread.
    func stop() {
        shared.withLock { $0.stopping = true }
        wake()
        finished.wait()
        close(wakeReader)
        close(wakeWriter)
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWriter, &byte, 1)
    }

    /// The serving thread: release what is due, then wait for a packet, a wake-up or the next
    /// release time, whichever comes first.
    private func serve() {
        // netem holds packets in the kernel, where an ordinary process never delays them; the
        // delay line gets a real-time priority (a low one) for the same reason: on a busy
        // machine it must not wait for a time slice to release a packet. A real-time thread
        // also has no timer slack. It blocks in poll between packets, so it takes little.
        var priority = sched_param(sched_priority: 10)
        _ = pthread_setschedparam(pthread_self(), SCHED_FIFO, &priority)
        var drain = [UInt8](repeating: 0, count: 64)
        while true {
            let (lines, retired, stopping) = shared.withLock { shared -> ([NFQueueDelayLine], [NFQueueDelayLine], Bool) in
                for (key, setting) in shared.settings {
                    shared.lines[key]?.setDelay(microseconds: setting.0, jitterMicroseconds: setting.1)
                }
                shared.settings = [:]
                let retired = shared.retired
                shared.retired = []
                return (Array(shared.lines.values), retired, shared.stopping)
            }
            for line in retired { line.releaseAll() }
            if stopping {
                for line in lines { line.releaseAll() }
                shared.withLock { $0.lines = [:] }
                finished.signal()
                return
            }
            let now = NFQueueDelayLine.now()
            for line in lines { line.releaseDue(now: now) }
            let next = lines.compactMap(\.nextDue).min() ?? now + 1_000_000_000
            if NFQueueDelayLine.wait(for: [wakeReader] + lines.map(\.descriptor), until: next) {
                while read(wakeReader, &drain, drain.count) > 0 {}
                for line in lines { line.readAvailable() }
            }
        }
    }
}
