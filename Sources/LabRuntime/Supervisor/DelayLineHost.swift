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
/// before its socket closes (closing drops held packets), and closes at once: its queue stays
/// bound to its socket until then, and the kernel refuses (EPERM) another socket's bind of a
/// bound queue — a delay put back on a moment later would find it so. One wanted again before
/// the serving thread got to it is taken back as it is.
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
        /// Lines no longer wanted, to be released and closed by the serving thread.
        var retired: [Key: NFQueueDelayLine] = [:]
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
        var rows: [DelayLineStatus] = []
        var wanted: [(key: Key, queue: DelayQueue, namespace: NetworkNamespace, row: Int)] = []
        for queue in queues {
            rows.append(DelayLineStatus(object: queue.object, netns: queue.netns, link: queue.link, direction: queue.direction,
                                        queue: queue.queue, delayMicroseconds: queue.delayMicroseconds,
                                        jitterMicroseconds: queue.jitterMicroseconds))
            do {
                let namespace = try NetworkNamespace.open(queue.netns)
                wanted.append((Key(netns: queue.netns, identity: NamespaceIdentity(descriptor: namespace.fd), queue: queue.queue),
                               queue, namespace, rows.count - 1))
            } catch {
                rows[rows.count - 1].error = "\(error)"
            }
        }
        // 1. Lines retired and not yet closed are taken back: their sockets still hold the queues.
        let revived = shared.withLock { shared in
            var revived = Set<Key>()
            for entry in wanted where current[entry.key] == nil {
                guard let line = shared.retired.removeValue(forKey: entry.key) else { continue }
                shared.lines[entry.key] = line
                shared.settings[entry.key] = (entry.queue.delayMicroseconds, entry.queue.jitterMicroseconds)
                revived.insert(entry.key)
            }
            return revived
        }
        // 2. The other new ones are opened (binding a queue is a netlink round trip: outside the lock).
        var opened: [Key: NFQueueDelayLine] = [:]
        for entry in wanted where current[entry.key] == nil && !revived.contains(entry.key) {
            do {
                opened[entry.key] = try NFQueueDelayLine(in: entry.namespace, queue: entry.queue.queue,
                                                         delayMicroseconds: entry.queue.delayMicroseconds,
                                                         jitterMicroseconds: entry.queue.jitterMicroseconds)
            } catch {
                rows[entry.row].error = "\(error)"
            }
        }
        // 3. Kept ones get their new settings; the ones no longer wanted are retired.
        let previous = current
        current = Dictionary(wanted.filter { previous[$0.key] != nil || revived.contains($0.key) || opened[$0.key] != nil }
            .map { ($0.key, $0.queue) }, uniquingKeysWith: { _, last in last })
        shared.withLock { shared in
            for (key, line) in opened { shared.lines[key] = line }
            for (key, queue) in current where previous[key].map({ $0.delayMicroseconds != queue.delayMicroseconds
                || $0.jitterMicroseconds != queue.jitterMicroseconds }) == true {
                shared.settings[key] = (queue.delayMicroseconds, queue.jitterMicroseconds)
            }
            for key in previous.keys where current[key] == nil {
                if let line = shared.lines.removeValue(forKey: key) { shared.retired[key] = line }
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
            let (lines, stopping) = shared.withLock { shared -> ([NFQueueDelayLine], Bool) in
                for (key, setting) in shared.settings {
                    shared.lines[key]?.setDelay(microseconds: setting.0, jitterMicroseconds: setting.1)
                }
                shared.settings = [:]
                // Under the lock, so `converge` either takes a retired line back or finds its
                // queue free to bind.
                for line in shared.retired.values {
                    line.releaseAll()
                    line.close()
                }
                shared.retired = [:]
                return (Array(shared.lines.values), shared.stopping)
            }
            if stopping {
                for line in lines {
                    line.releaseAll()
                    line.close()
                }
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
