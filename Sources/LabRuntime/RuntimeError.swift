import Foundation

/// A failure of the runtime's own work around the kernel: a file, a lock, the supervisor, the
/// recorded state. (Kernel calls fail with `KernelError`; a name on the command line that
/// matches nothing is a `LookupError`.)
public enum RuntimeError: Error, CustomStringConvertible {
    case io(operation: String, path: String, errno: Int32)
    case busy(path: String, seconds: Double)
    case corruptState(lab: String, reason: String)
    case supervisorFailed(lab: String, log: String)
    case noLogs(String)
    /// The supervisor could not bind a delay line's NFQUEUE queue; the fault was taken back.
    case delayLineUnbound(lab: String, object: String, netns: String, queue: UInt16, reason: String)

    public var description: String {
        switch self {
        case .io(let operation, let path, let code):
            return "\(operation) \(path): \(String(cString: strerror(code)))"
        case .busy(let path, let seconds):
            return "another `lab up` or `lab down` of this lab still holds \(path) after \(seconds.formatted(.number.precision(.fractionLength(0...1)))) s; wait for it to finish, or find it with `fuser \(path)`"
        case .supervisorFailed(let lab, let log):
            return "the supervisor of lab \(lab) exited at once; see \(log)"
        case .noLogs(let path):
            return "no log yet at \(path): the container has not written anything or has not started"
        case .delayLineUnbound(let lab, let object, let netns, let queue, let reason):
            return "the delay on \(object) in lab \(lab) was not put on: its delay line could not bind NFQUEUE queue \(queue) in \(netns) (\(reason)); "
                + "nothing else may bind the lab's queues — `ip netns exec \(netns) cat /proc/net/netfilter/nfnetlink_queue` shows who holds them"
        case .corruptState(let lab, let reason):
            return "the state of lab \(lab) is unreadable (\(reason)); `lab down \(lab)` still removes it"
        }
    }
}
