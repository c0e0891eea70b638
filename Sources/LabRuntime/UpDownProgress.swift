import Foundation
import Synchronization

/// What a running `lab up` or `lab down` is doing right now — a phase and how far into it — for
/// the one-line progress display of the command. The runtime only records (a lock and a few
/// integers per kernel operation); whether and how it is shown is the command's business
/// (`ProgressLine` in LabCLI shows it on a terminal after a second).
public final class UpDownProgress: Sendable {
    /// The one of this process: `up` and `down` run one lab at a time.
    public static let shared = UpDownProgress()

    public struct Snapshot: Sendable, Equatable {
        /// The lab, once known (`up` learns it from the file).
        public var lab: String?
        /// `namespaces`, `links`, `service rules`, `containers`, …
        public var phase: String
        public var done: Int
        /// 0 when the phase has no count (waiting for the supervisor).
        public var total: Int
        /// What `done` and `total` count (`namespaces`, `operations`, `pods`).
        public var unit: String
    }

    private let state = Mutex<Snapshot?>(nil)

    public init() {}

    public func setLab(_ lab: String) {
        state.withLock { current in
            if current == nil { current = Snapshot(lab: lab, phase: "", done: 0, total: 0, unit: "") } else { current!.lab = lab }
        }
    }

    /// Starts `phase` (replacing the one before).
    public func begin(_ phase: String, total: Int = 0, unit: String = "") {
        state.withLock { current in
            current = Snapshot(lab: current?.lab, phase: phase, done: 0, total: total, unit: unit)
        }
    }

    /// Starts `phase` unless it is the one running, keeping its count.
    func enter(_ phase: String, total: Int, unit: String) {
        state.withLock { current in
            guard current?.phase != phase else { return }
            current = Snapshot(lab: current?.lab, phase: phase, done: 0, total: total, unit: unit)
        }
    }

    public func advance(by count: Int = 1) {
        state.withLock { current in current?.done += count }
    }

    /// Sets the count of the running phase (from a counter kept elsewhere).
    func setDone(_ done: Int, of phase: String) {
        state.withLock { current in
            if current?.phase == phase { current?.done = done }
        }
    }

    public func snapshot() -> Snapshot? { state.withLock { $0 } }

    /// Forgets everything (a new command, or a test).
    public func reset() { state.withLock { $0 = nil } }
}
