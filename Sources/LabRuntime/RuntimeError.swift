import Foundation

/// Failures of the runtime that are not kernel errors on a lab object.
public enum RuntimeError: Error, CustomStringConvertible {
    case io(operation: String, path: String, errno: Int32)
    case busy(path: String, seconds: Double)
    case noLab
    case ambiguousLab([String])
    case unknownLab(String, known: [String])
    case unknownObject(String, lab: String, known: [String])
    case corruptState(lab: String, reason: String)
    case supervisorFailed(lab: String, log: String)
    case unknownContainer(String, pod: String, known: [String])
    case noLogs(String)

    public var description: String {
        switch self {
        case .io(let operation, let path, let code):
            return "\(operation) \(path): \(String(cString: strerror(code)))"
        case .busy(let path, let seconds):
            return "another `lab up` or `lab down` of this lab still holds \(path) after \(seconds.formatted(.number.precision(.fractionLength(0...1)))) s; wait for it to finish, or find it with `fuser \(path)`"
        case .noLab:
            return "no lab is up; start one with `lab up FILE`"
        case .ambiguousLab(let labs):
            return "several labs are up (\(labs.joined(separator: ", "))); name one, e.g. `lab status \(labs[0])`"
        case .unknownLab(let lab, let known):
            return "lab \"\(lab)\" is not up" + (known.isEmpty ? "" : " (up: \(known.joined(separator: ", ")))")
        case .unknownObject(let name, let lab, let known):
            return "lab \(lab) has no pod, node or host \"\(name)\" (\(known.joined(separator: ", ")))"
        case .supervisorFailed(let lab, let log):
            return "the supervisor of lab \(lab) exited at once; see \(log)"
        case .unknownContainer(let name, let pod, let known):
            return "pod \(pod) has no container \"\(name)\"" + (known.isEmpty ? " (it has none)" : " (containers: \(known.joined(separator: ", ")))")
        case .noLogs(let path):
            return "no log yet at \(path): the container has not written anything or has not started"
        case .corruptState(let lab, let reason):
            return "the state of lab \(lab) is unreadable (\(reason)); `lab down \(lab)` still removes it"
        }
    }
}
