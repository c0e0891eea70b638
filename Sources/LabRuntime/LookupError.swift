/// A name given on the command line (a lab, a pod, node or host, a container) that matches
/// nothing up, or no name where one is needed; the message lists what there is to choose from.
public enum LookupError: Error, CustomStringConvertible {
    case noLab
    case ambiguousLab([String])
    case unknownLab(String, known: [String])
    case unknownObject(String, lab: String, known: [String])
    case unknownContainer(String, pod: String, known: [String])

    public var description: String {
        switch self {
        case .noLab:
            return "no lab is up; start one with `lab up FILE`"
        case .ambiguousLab(let labs):
            return "several labs are up (\(labs.joined(separator: ", "))); name one, e.g. `lab status \(labs[0])`"
        case .unknownLab(let lab, let known):
            return "lab \"\(lab)\" is not up" + (known.isEmpty ? "" : " (up: \(known.joined(separator: ", ")))")
        case .unknownObject(let name, let lab, let known):
            return "lab \(lab) has no pod, node or host \"\(name)\" (\(known.joined(separator: ", ")))"
        case .unknownContainer(let name, let pod, let known):
            return "pod \(pod) has no container \"\(name)\"" + (known.isEmpty ? " (it has none)" : " (containers: \(known.joined(separator: ", ")))")
        }
    }
}
