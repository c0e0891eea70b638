import LabSpec

/// Kubernetes-style crash-loop back-off: 0.1 s after the first exit, doubling to a 10 s cap,
/// back to the start after a container has run for 10 s. A crash loop costs a start every
/// 10 s, not a busy loop.
struct RestartBackoff: Sendable, Equatable {
    static let initial = 0.1
    static let cap = 10.0
    static let resetAfter = 10.0

    private(set) var delay = RestartBackoff.initial

    /// The delay before the next start, given how long the last run lasted.
    mutating func next(afterRunning seconds: Double) -> Double {
        if seconds >= RestartBackoff.resetAfter { delay = RestartBackoff.initial }
        let current = delay
        delay = min(delay * 2, RestartBackoff.cap)
        return current
    }
}

/// Whether a container that exited with `status` starts again (`restart`: `always`, `on-failure`
/// after a non-zero status, `never`).
func shouldRestart(policy: RestartPolicy, exitStatus: Int32) -> Bool {
    switch policy {
    case .never: return false
    case .onFailure: return exitStatus != 0
    case .always: return true
    }
}
