import Foundation

/// Ctrl-C and `kill` during `lab up`: instead of dying between two kernel operations, `up`
/// blocks SIGINT, SIGTERM and SIGHUP, checks for them between operations, rolls back what it
/// created and exits 128 + the signal (130 for Ctrl-C), as a shell would report it.
public enum Interruption {
    public struct Interrupted: Error, CustomStringConvertible {
        public var signal: Int32
        public var exitCode: Int32 { 128 + signal }
        public var description: String {
            "interrupted by \(signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal \(signal)"); everything this run created was removed"
        }
    }

    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Blocks the signals for the calling thread and every thread it creates afterwards.
    public static func deferSignals() {
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in signals { sigaddset(&mask, signal) }
        pthread_sigmask(SIG_BLOCK, &mask, nil)
    }

    /// Throws `Interrupted` if one of the signals arrived since `deferSignals` (consuming it).
    static func check() throws {
        var pending = sigset_t()
        sigpending(&pending)
        for signal in signals where sigismember(&pending, signal) == 1 {
            var only = sigset_t()
            sigemptyset(&only)
            sigaddset(&only, signal)
            var received: Int32 = 0
            sigwait(&only, &received)
            throw Interrupted(signal: signal)
        }
    }
}
