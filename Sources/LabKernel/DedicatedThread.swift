import Glibc

/// Runs work on a fresh pthread and waits for it.
///
/// Namespace membership set by `setns(2)` or `unshare(2)` belongs to the calling *thread*.
/// Doing it on a thread we create and then let exit means no caller's thread — least of all a
/// Swift concurrency worker shared with unrelated tasks — is ever left in another namespace,
/// and there is nothing to restore (or to forget to restore) afterwards.
enum DedicatedThread {
    static func run<T>(_ body: () throws -> T) throws -> T {
        try withoutActuallyEscaping(body) { body in
            let outcome = Outcome<T>()
            try start { outcome.result = Result { try body() } }
            return try outcome.result!.get()
        }
    }

    /// Starts a thread running `work` and joins it.
    private static func start(_ work: @escaping () -> Void) throws {
        pthread_join(try launch(work), nil)
    }

    /// Starts a thread running `work`; the caller joins it (`pthread_join`). It inherits the
    /// caller's signal mask.
    static func launch(_ work: @escaping () -> Void) throws -> pthread_t {
        let context = Unmanaged.passRetained(Work(work)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { context in
            Unmanaged<Work>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, context)
        guard status == 0 else {
            Unmanaged<Work>.fromOpaque(context).release()
            throw KernelError(operation: "start thread", object: "for namespace work", errno: status)
        }
        return thread
    }

    /// The body, handed to the thread through its `void *` argument (a C function pointer
    /// cannot capture anything, let alone a generic type).
    private final class Work {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Written by the thread, read by the caller only after `pthread_join`, which orders the
    /// two accesses.
    private final class Outcome<T> {
        var result: Result<T, any Error>?
    }
}
