import Foundation

/// One container as the supervisor last saw it; `lab status` and `lab up` read these from
/// `/run/lab/<lab>/containers.json`.
public struct ContainerStatus: Sendable, Codable, Hashable {
    public enum State: String, Sendable, Codable {
        /// Not started yet (the supervisor is starting).
        case starting
        case running
        /// Exited or failed to start; waiting for its back-off before the next start.
        case restarting
        /// Exited for good (restart `never`, or `on-failure` after a clean exit).
        case exited
    }

    public var pod: String
    public var container: String
    public var isAgent: Bool
    public var state: State
    /// The process; for an agent, the supervisor (it serves every agent itself).
    public var pid: Int32?
    public var restarts: Int
    /// The last exit code (or 128+signal), if it has exited at least once.
    public var exitCode: Int32?
    /// Why the last start failed, e.g. "sleepy: command not found".
    public var error: String?

    public var summary: String {
        switch state {
        case .starting: return "starting"
        case .running: return restarts > 0 ? "running (restarts: \(restarts))" : "running"
        case .restarting: return "restarting (restarts: \(restarts)\(exitCode.map { ", last exit \($0)" } ?? ""))"
        case .exited: return "exited \(exitCode.map(String.init) ?? "?")" + (error.map { ": \($0)" } ?? "")
        }
    }
}

/// The supervisor's report file.
public struct SupervisorReport: Sendable, Codable {
    public var supervisorPID: Int32
    /// True once every container has been started once (or failed to): what `lab up` waits for.
    public var settled: Bool
    /// How many reloads (SIGHUP) the supervisor has handled: `SupervisorProcess.reload` waits
    /// for it to pass the value it saw before signalling, so it never takes an older report
    /// for the answer to its reload.
    public var generation: Int
    /// Why the last reload changed nothing (`topology.json` unreadable); nil when it worked.
    public var reloadError: String?
    public var containers: [ContainerStatus]
    /// The delay lines it serves (a lab with delay on a kernel without netem); nil for none.
    public var delayLines: [DelayLineStatus]?

    public init(supervisorPID: Int32, settled: Bool, generation: Int = 0, reloadError: String? = nil,
                containers: [ContainerStatus], delayLines: [DelayLineStatus]? = nil) {
        self.delayLines = delayLines
        self.supervisorPID = supervisorPID
        self.settled = settled
        self.generation = generation
        self.reloadError = reloadError
        self.containers = containers
    }
}
