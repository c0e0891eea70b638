import Foundation
import Glibc
import LabKernel
import LabPlan

/// Runs resolved probes natively and in parallel: sockets are opened inside each probe's
/// source namespace and then driven by one epoll loop on a thread of its own, so a
/// 20,000-probe matrix costs at most a window of sockets at a time, not 20,000 sockets,
/// processes or threads.
///
/// ```swift
/// let engine = ProbeEngine()
/// let results = engine.run(tasks)                       // all at the end
/// engine.stream(tasks) { index, result in … }          // each as it finishes
/// ```
public final class ProbeEngine: Sendable {
    public struct Options: Sendable {
        /// Probes holding a socket at once, 1...`maximumParallelism`.
        public var parallel: Int
        /// The pause before a failing probe runs again, so a retry can see a rule or a route
        /// that was still being installed. The probe holds no socket meanwhile.
        public var retryDelay: Duration
        /// The longest gap between the echoes of one ping; a reply sends the next at once.
        public var pingInterval: Duration
        /// How long a tcp probe waits, once connected, for the server's first line.
        public var greetingWait: Duration
        /// Where the host's neighbour-table counters come from (tests inject them).
        public var hostNeighbours: HostNeighbours

        public init(parallel: Int = ProbeEngine.defaultParallelism, retryDelay: Duration = .milliseconds(100),
                    pingInterval: Duration = .milliseconds(200), greetingWait: Duration = .milliseconds(200),
                    hostNeighbours: HostNeighbours = .host) {
            self.parallel = parallel
            self.retryDelay = retryDelay
            self.pingInterval = pingInterval
            self.greetingWait = greetingWait
            self.hostNeighbours = hostNeighbours
        }
    }

    /// The host's neighbour table as the engine watches it: a failure while `counters()`
    /// shows the table refusing entries is blamed on the host.
    public struct HostNeighbours: Sendable {
        public var counters: @Sendable () -> NeighbourTableCounters?
        public var hardLimit: Int?

        /// `/proc/net/stat/arp_cache` and `gc_thresh3`, read in the root namespace.
        public static var host: HostNeighbours {
            HostNeighbours(counters: { NeighbourTableCounters.read() }, hardLimit: NeighbourTableLimits.read()?.gcThresh3)
        }

        /// No watching (nothing is ever blamed on the host).
        public static let none = HostNeighbours(counters: { nil }, hardLimit: nil)
    }

    /// Descriptors kept free for everything else `lab` opens while probes run (namespaces
    /// stay open in the caller, exec pipes, the files reports are written to).
    static let reservedDescriptors = 256

    /// The most probes this process can have in flight: its descriptor limit (the soft limit,
    /// raised to the hard limit first) less the descriptors open now and a reserve.
    public static var maximumParallelism: Int {
        max(1, DescriptorLimit.raise() - openDescriptors() - reservedDescriptors)
    }

    /// Thousands: a probe that waits (for its timeout, say) costs a descriptor and nothing
    /// else, so a wide window keeps failures from holding up the rest; wider than this only
    /// queues in the kernel and the agents.
    public static let defaultParallelism = 4096

    public let options: Options

    public init(options: Options = Options()) {
        var options = options
        options.parallel = min(Self.maximumParallelism, max(1, options.parallel))
        self.options = options
    }

    /// Runs every task and returns the results in the order of `tasks`. `onResult` is called
    /// as each probe finishes (in the order they finish), e.g. to stream lines.
    public func run(_ tasks: [ProbeTask], onResult: (ProbeResult) -> Void = { _ in }) -> [ProbeResult] {
        var results = [ProbeResult?](repeating: nil, count: tasks.count)
        stream(tasks) { index, result in
            results[index] = result
            onResult(result)
        }
        return results.map { $0! }
    }

    /// Runs `tasks`, calling `onResult` with each task's index and result as it finishes (in
    /// the order they finish) and `tick` at least every `tickInterval` (for a progress line).
    /// Keeps nothing of a finished probe: what to keep is the caller's choice.
    ///
    /// Returns false when `stop` (a descriptor, e.g. a signal's pipe) became readable first:
    /// the probes still running are ended and those not reported never ran to the end.
    /// Blocks the calling thread; the loop itself runs on a thread of its own, since it moves
    /// between namespaces, and the closures are called from there while this thread waits.
    @discardableResult
    public func stream(_ tasks: [ProbeTask], stop: Int32? = nil, tickInterval: Duration = .milliseconds(100),
                       tick: () -> Void = {}, onResult: (Int, ProbeResult) -> Void) -> Bool {
        guard !tasks.isEmpty else { return true }
        return withoutActuallyEscaping(tick) { tick in
            withoutActuallyEscaping(onResult) { onResult in
                let work = LoopWork(tasks: tasks, options: options, stop: stop, tickInterval: tickInterval, tick: tick, onResult: onResult)
                let done = DispatchSemaphore(value: 0)
                let thread = Thread {
                    work.run()
                    done.signal()
                }
                thread.stackSize = 8 << 20
                thread.start()
                done.wait()
                // The closures must not outlive this call (`withoutActuallyEscaping` checks).
                work.release()
                return work.completed
            }
        }
    }

    /// Descriptors open in this process now (`/proc/self/fd`).
    static func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 64
    }
}

/// What the loop's thread needs, handed over while the caller waits for it: the caller does
/// not touch the closures until the semaphore says the thread is done with them.
private final class LoopWork: @unchecked Sendable {
    let tasks: [ProbeTask]
    let options: ProbeEngine.Options
    let stop: Int32?
    let tickInterval: Duration
    private var tick: (() -> Void)?
    private var onResult: ((Int, ProbeResult) -> Void)?
    var completed = false

    init(tasks: [ProbeTask], options: ProbeEngine.Options, stop: Int32?, tickInterval: Duration,
         tick: @escaping () -> Void, onResult: @escaping (Int, ProbeResult) -> Void) {
        self.tasks = tasks
        self.options = options
        self.stop = stop
        self.tickInterval = tickInterval
        self.tick = tick
        self.onResult = onResult
    }

    func release() {
        tick = nil
        onResult = nil
    }

    func run() {
        guard let tick, let onResult else { return }
        do {
            let loop = try ProbeLoop(tasks: tasks, options: options, window: options.parallel)
            completed = loop.run(stop: stop, tickInterval: tickInterval, tick: tick, onResult: onResult)
        } catch {
            // No epoll instance (out of descriptors or memory): every probe reports it.
            for (index, task) in tasks.enumerated() {
                let observation = ProbeObservation(outcome: .error, errno: ProbeErrno.name(error.code), detail: error.operation,
                                                   elapsedMilliseconds: 0)
                onResult(index, ProbeResult(task: task, tries: [observation], attempts: 1, elapsedMilliseconds: 0))
            }
            completed = true
        }
    }
}
