import Glibc
import Synchronization

/// Runs `body` on every item with `workers` threads (the caller's among them) and returns the
/// results in the items' order, so the first failure in order can be thrown (the applier's
/// namespaces and sysctls, `down`'s removals, the supervisor's agent sockets).
///
/// Threads are created by the caller, so they inherit its blocked signals (the applier's
/// `Interruption`, the supervisor's signals it waits for): a signal is never delivered to a
/// worker.
public enum ParallelWork {
    public static func map<Item: Sendable, Value: Sendable>(_ items: [Item], workers: Int,
                                                            _ body: @escaping @Sendable (Item) throws -> Value) -> [Result<Value, any Error>] {
        let queue = WorkQueue<Item, Value>(items: items, body: body)
        let helpers = max(0, min(workers, items.count) - 1)
        // A helper that cannot be started leaves its share to the others (the caller at least).
        let threads = (0..<helpers).compactMap { _ in try? DedicatedThread.launch { queue.drain() } }
        queue.drain()
        for thread in threads { pthread_join(thread, nil) }
        return queue.results()
    }
}

/// The items not yet taken and the results so far, shared by the threads of one `map`.
private final class WorkQueue<Item: Sendable, Value: Sendable>: Sendable {
    private let items: [Item]
    private let body: @Sendable (Item) throws -> Value
    private let next = Mutex(0)
    private let outcomes: Mutex<[Result<Value, any Error>?]>

    init(items: [Item], body: @escaping @Sendable (Item) throws -> Value) {
        self.items = items
        self.body = body
        outcomes = Mutex(Array(repeating: nil, count: items.count))
    }

    func drain() {
        while true {
            let index = next.withLock { next in
                defer { next += 1 }
                return next
            }
            guard index < items.count else { return }
            let outcome = Result { try body(items[index]) }
            outcomes.withLock { $0[index] = outcome }
        }
    }

    func results() -> [Result<Value, any Error>] { outcomes.withLock { $0.map { $0! } } }
}
