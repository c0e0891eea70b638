import LabPlan
import Foundation

/// Runs resolved probes natively and in parallel: sockets are opened inside each probe's
/// source namespace and then driven by one poll loop on the calling thread, so a 1,600-probe
/// matrix costs 1,600 sockets, not 1,600 processes or threads (measured.md, "Probes").
///
/// ```swift
/// let engine = ProbeEngine(options: .init(parallel: 16))
/// let results = engine.run(tasks) { print(ProbeTextReport.line($0)) }
/// print(ProbeTextReport.render(results))
/// ```
public final class ProbeEngine: Sendable {
    public struct Options: Sendable {
        /// Probes in flight at once, 1...`maximumParallelism`.
        public var parallel: Int
        /// The pause before a failing probe runs again, so a retry can see a rule or a route
        /// that was still being installed.
        public var retryDelay: Duration
        /// The longest gap between the echoes of one ping; a reply sends the next at once.
        public var pingInterval: Duration
        /// How long a tcp probe waits, once connected, for the server's first line.
        public var greetingWait: Duration

        public init(parallel: Int = ProbeEngine.defaultParallelism, retryDelay: Duration = .milliseconds(100),
                    pingInterval: Duration = .milliseconds(200), greetingWait: Duration = .milliseconds(200)) {
            self.parallel = parallel
            self.retryDelay = retryDelay
            self.pingInterval = pingInterval
            self.greetingWait = greetingWait
        }
    }

    /// The upper bound on `parallel`: past it, a raw ICMP socket per ping in flight copies
    /// every reply to that many sockets, and the lab's neighbour tables fill faster than they
    /// help (measured.md, pitfall 3).
    public static let maximumParallelism = 64

    /// Twice the processors, at most `maximumParallelism`: the loop is one thread, so more
    /// in flight mostly overlaps waiting, and twice the cores keeps the sockets' softirq work
    /// from queueing behind the loop.
    public static var defaultParallelism: Int {
        min(maximumParallelism, max(1, 2 * ProcessInfo.processInfo.activeProcessorCount))
    }

    public let options: Options

    public init(options: Options = Options()) {
        var options = options
        options.parallel = min(Self.maximumParallelism, max(1, options.parallel))
        self.options = options
    }

    /// Runs every task and returns the results in the order of `tasks`. `onResult` is called
    /// on this thread as each probe finishes (in the order they finish), e.g. to stream lines.
    ///
    /// Blocks the calling thread until the last probe has finished: run it on a thread of its
    /// own, not on a Swift concurrency worker shared with other tasks.
    public func run(_ tasks: [ProbeTask], onResult: (ProbeResult) -> Void = { _ in }) -> [ProbeResult] {
        ProbeLoop(tasks: tasks, options: options).run(onResult: onResult)
    }
}
