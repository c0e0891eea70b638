/// `scenarios:`: what `lab verify` does after the lab's own probes, one scenario at a time —
/// put the scenario's faults on the lab, run its probes, take the faults off again (also when a
/// probe fails or verify is interrupted), so the lab is as before.
public struct ScenarioSpec: Sendable {
    public var name: String
    public var faults: [ScenarioFault]
    public var probes: [ProbeSpec]

    public init(name: String, faults: [ScenarioFault] = [], probes: [ProbeSpec] = []) {
        self.name = name
        self.faults = faults
        self.probes = probes
    }
}

/// One fault of a scenario, as `lab fault` takes it on the command line:
/// `{down: node/node-2, notReadyAfter: 0s}`, `{partition: [rack-1, rack-2]}`,
/// `{impair: network/wan, delay: 100ms}`.
public struct ScenarioFault: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        /// The link of a pod, node or host down (a node's: every pod veth on it too).
        case down(FaultTarget)
        /// The fabric stops forwarding between two networks.
        case partition(String, String)
        /// The link (or every port of a network) impaired as a `link:` would.
        case impair(FaultTarget, LinkImpairment)
    }

    public var action: Action
    /// For a node that is down: how long until its pods leave every service's endpoints, in
    /// milliseconds (nil: Kubernetes' 40 s grace period).
    public var notReadyAfterMilliseconds: Int?

    public init(_ action: Action, notReadyAfterMilliseconds: Int? = nil) {
        self.action = action
        self.notReadyAfterMilliseconds = notReadyAfterMilliseconds
    }

    /// `down node/node-2`, `partition rack-1 rack-2`, `impair network/wan delay 100ms`: the
    /// words of `lab fault`, for reports.
    public var summary: String {
        switch action {
        case .down(let target):
            return "down \(target)" + (notReadyAfterMilliseconds.map { " (not ready after \(ImpairmentText.duration($0 * 1000)))" } ?? "")
        case .partition(let a, let b): return "partition \(a) \(b)"
        case .impair(let target, let impairment): return "impair \(target) \(impairment.summary)"
        }
    }
}

/// What a fault acts on: a pod, node or host (`pod/a`, `node/node-2`, bare `a`), or a whole
/// network (`network/wan`: every machine's link on it).
public enum FaultTarget: Sendable, Hashable, CustomStringConvertible {
    case object(Reference)
    case network(String)

    /// Parses `network/NAME` or a reference; nil when it is neither.
    public init?(_ text: String) {
        if text.hasPrefix("network/") {
            let name = String(text.dropFirst("network/".count))
            guard !name.isEmpty, !name.contains("/") else { return nil }
            self = .network(name)
        } else if let reference = Reference(text) {
            self = .object(reference)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .object(let reference): return reference.description
        case .network(let name): return "network/\(name)"
        }
    }
}
