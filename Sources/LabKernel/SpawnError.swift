import CProcess
import Glibc

/// A process that could not be started, with the step that failed and its errno.
public struct SpawnError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Step: Sendable, Hashable {
        /// Not found in `ProgramLookup.basePath` (or not executable where named).
        case lookup
        case fork
        case enterNetns
        case unshareUTS
        case setHostname
        case redirect
        case exec
        case unshareMount
        case bindMount

        init(_ raw: Int32) {
            switch UInt32(raw) {
            case LAB_SPAWN_FORK.rawValue: self = .fork
            case LAB_SPAWN_SETNS.rawValue: self = .enterNetns
            case LAB_SPAWN_UNSHARE_UTS.rawValue: self = .unshareUTS
            case LAB_SPAWN_SETHOSTNAME.rawValue: self = .setHostname
            case LAB_SPAWN_REDIRECT.rawValue: self = .redirect
            case LAB_SPAWN_UNSHARE_MOUNT.rawValue: self = .unshareMount
            case LAB_SPAWN_BIND_MOUNT.rawValue: self = .bindMount
            default: self = .exec
            }
        }

        /// As a message names it (a pod is where a namespace or a hostname is asked for).
        public var name: String {
            switch self {
            case .lookup: return "lookup"
            case .fork: return "fork"
            case .enterNetns: return "entering the pod's network namespace"
            case .unshareUTS: return "creating the pod's UTS namespace"
            case .setHostname: return "setting the hostname"
            case .redirect: return "redirecting output"
            case .exec: return "exec"
            case .unshareMount: return "creating the pod's mount namespace"
            case .bindMount: return "binding the pod's /etc/netns files over /etc"
            }
        }
    }

    /// The program as the caller named it.
    public var program: String
    public var step: Step
    public var errno: Int32

    /// `sh: command not found in /usr/local/sbin:…`, or `exec failed for sh: Permission denied`.
    public var description: String {
        if step == .lookup { return "\(program): command not found in \(ProgramLookup.basePath)" }
        return "\(step.name) failed for \(program): \(String(cString: strerror(errno)))"
    }
}
