/// Why `SupervisorProcess.reload` could not confirm a reload. The lab's network is untouched by
/// these; its processes are as the supervisor left them, which `lab status` shows.
public enum SupervisorReloadError: Error, CustomStringConvertible, Sendable {
    /// The supervisor did not answer in time (stuck, or stopped with SIGSTOP).
    case timedOut(lab: String, seconds: Double)
    /// The supervisor could not read `topology.json` and kept running what it ran.
    case unreadableTopology(lab: String, reason: String)

    public var description: String {
        switch self {
        case .timedOut(let lab, let seconds):
            return "the supervisor of lab \(lab) did not confirm its reload within \(Int(seconds)) s; see `lab status \(lab)`"
        case .unreadableTopology(let lab, let reason):
            return "the supervisor of lab \(lab) could not reload: \(reason)"
        }
    }
}
