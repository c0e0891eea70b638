import Foundation

/// Which listening sockets an `AgentServer` serves, shared between the threads that add and
/// remove ports (the supervisor's main thread on a reload) and the thread that runs the loop.
///
/// The registry holds the wanted set and a version; the loop catches up on each wake-up and
/// acknowledges the version it has caught up with. A caller that removes a port waits for that
/// acknowledgement before closing the socket, so the loop never polls a descriptor that was
/// closed — or, worse, reused by a new socket — under it.
final class AgentPortRegistry: @unchecked Sendable {
    // Sendable because every field is read and written only while holding `condition`.

    /// One open listening socket; the registry owns the descriptor until it is taken out.
    struct Port: Sendable {
        var fd: Int32
        var pod: String
        var `protocol`: AgentProtocol
        var boundPort: Int
    }

    /// What the loop tells the caller of `sync`.
    struct Snapshot {
        var ports: [AgentPortID: Port]
        var version: Int
        var stop: Bool
    }

    private enum LoopPhase { case notStarted, running, finished }

    private let condition = NSCondition()
    private var ports: [AgentPortID: Port] = [:]
    private var nextID = 0
    private var version = 0
    private var appliedVersion = 0
    private var phase = LoopPhase.notStarted
    private var stopRequested = false

    /// Registers open sockets; returns their ids and the version the loop must reach to serve them.
    func insert(_ opened: [Port]) -> (ids: [AgentPortID], version: Int) {
        condition.withLock {
            let ids = opened.map { port -> AgentPortID in
                let id = AgentPortID(value: nextID)
                nextID += 1
                ports[id] = port
                return id
            }
            version += 1
            return (ids, version)
        }
    }

    /// Takes ports out of the wanted set; the caller closes them once `waitUntilApplied` returns.
    func take(_ ids: [AgentPortID]) -> (ports: [Port], version: Int) {
        condition.withLock {
            let taken = ids.compactMap { ports.removeValue(forKey: $0) }
            version += 1
            return (taken, version)
        }
    }

    func boundPort(of id: AgentPortID) -> Int? {
        condition.withLock { ports[id]?.boundPort }
    }

    var isRunning: Bool { condition.withLock { phase == .running } }

    /// Returns once the loop has caught up with `version`, or is not running (then it holds no
    /// descriptor the caller could still be racing with).
    func waitUntilApplied(_ version: Int) {
        condition.lock()
        defer { condition.unlock() }
        while phase == .running && appliedVersion < version { condition.wait() }
    }

    func requestStop() {
        condition.withLock { stopRequested = true }
    }

    /// The loop's start: false when the server already ran or was stopped before it began.
    func begin() -> Bool {
        condition.withLock {
            guard phase == .notStarted, !stopRequested else { return false }
            phase = .running
            return true
        }
    }

    /// What the loop should serve now.
    func snapshot() -> Snapshot {
        condition.withLock { Snapshot(ports: ports, version: version, stop: stopRequested) }
    }

    /// The loop serves exactly `snapshot(version)` now.
    func acknowledge(_ version: Int) {
        condition.withLock {
            appliedVersion = max(appliedVersion, version)
            condition.broadcast()
        }
    }

    /// The loop has ended (or never starts): every port still registered is handed back to be
    /// closed, and waiters are released.
    func finish() -> [Port] {
        condition.withLock {
            phase = .finished
            let remaining = Array(ports.values)
            ports = [:]
            condition.broadcast()
            return remaining
        }
    }
}

/// Names one listening socket of an `AgentServer`, so it can be closed again on its own.
public struct AgentPortID: Hashable, Sendable, Comparable {
    let value: Int

    public static func < (lhs: AgentPortID, rhs: AgentPortID) -> Bool { lhs.value < rhs.value }
}
