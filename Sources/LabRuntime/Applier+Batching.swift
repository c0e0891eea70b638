import Foundation
import Synchronization

/// How `Applier.apply` spends the machine's two cores, and the switch back to one request at a
/// time for comparison.
enum ApplyTuning {
    static let unbatchedVariable = "LAB_APPLY_UNBATCHED"

    /// `LAB_APPLY_UNBATCHED=1` applies a plan one request per send, on one thread — the path a
    /// reconcile takes — so tests and benchmarks can compare the two on the same lab. Not a user
    /// feature, like `LAB_INJECT_FAULT`.
    static var batching: Bool { ProcessInfo.processInfo.environment[unbatchedVariable] == nil }

    /// Threads creating namespaces (and writing sysctls) at once. Namespace set-up is mostly
    /// per-namespace kernel work (sysctl tables, procfs, the loopback device), so two threads
    /// create 200 namespaces in about half the time of one on a 2-core machine; more threads
    /// than cores only contend.
    static var workers: Int {
        if let forced = ProcessInfo.processInfo.environment["LAB_APPLY_WORKERS"].flatMap({ Int($0) }) { return max(1, forced) }
        return max(1, min(2, ProcessInfo.processInfo.activeProcessorCount))
    }
}

extension Journal {
    /// Appends several namespaces with one write and one fsync — every one of them is on disk
    /// before any of them is created, as `record(namespace:)` guarantees for one. On ext4 an
    /// fsync costs 0.2–3 ms, so one per namespace of a 200-pod lab was up to half a second.
    func record(namespaces: [String]) throws {
        guard !namespaces.isEmpty else { return }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RuntimeError.io(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        let lines = Array(namespaces.map { $0 + "\n" }.joined().utf8)
        let written = lines.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == lines.count else { throw RuntimeError.io(operation: "write", path: path, errno: errno) }
        guard fsync(fd) == 0 else { throw RuntimeError.io(operation: "fsync", path: path, errno: errno) }
    }
}

/// A value one thread hands to others once: `wait` blocks until it is set, and may be called
/// more than once.
final class Handoff<Value: Sendable>: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let value = Mutex<Value?>(nil)

    func set(_ newValue: Value) {
        value.withLock { $0 = newValue }
        done.signal()
    }

    func wait() -> Value {
        if let known = value.withLock({ $0 }) { return known }
        done.wait()
        done.signal()  // a later `wait` returns at once too
        return value.withLock { $0! }
    }
}

/// Work started on its own thread now and waited for later: a node's firewall load runs while
/// the pods are wired, on the other core. `wait` returns what the work returned or threw, and
/// may be called more than once.
final class BackgroundWork<Value: Sendable>: Sendable {
    private let outcome = Handoff<Result<Value, any Error>>()

    init(_ body: @escaping @Sendable () throws -> Value) {
        Thread { [outcome] in outcome.set(Result { try body() }) }.start()
    }

    func wait() -> Result<Value, any Error> { outcome.wait() }
}
