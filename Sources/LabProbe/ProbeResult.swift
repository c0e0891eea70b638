import LabPlan
/// A probe's result: what it was, what it saw, and the verdict. Plain data that every report
/// renders and the JSON report carries whole (and decodes back).
public struct ProbeResult: Sendable, Hashable, Codable {
    public var name: String
    public var from: String
    public var to: String
    public var group: String?
    public var endpoint: ProbeEndpoint?
    /// A probe by name: the name and port it went to (the address is in each try's lookup).
    public var byName: NamedTarget?
    public var action: ProbeAction
    public var expectation: ProbeExpectation
    public var passed: Bool
    /// Expected vs observed, one line; nil when the probe passed.
    public var explanation: String?
    /// What the last attempt saw, one line: `3/3 replies, rtt …`, `refused (ECONNREFUSED)`.
    public var observed: String
    /// 1, or more when failing attempts were run again (`retries`).
    public var attempts: Int
    /// From the first try of the first attempt to the end of the last.
    public var elapsedMilliseconds: Double
    /// The tries of the last attempt, the one the verdict is about.
    public var tries: [ProbeObservation]

    /// Judges `tries` against `expectation` and summarizes them.
    public init(name: String, from: String, to: String, group: String? = nil, endpoint: ProbeEndpoint?,
                byName: NamedTarget? = nil, action: ProbeAction, expectation: ProbeExpectation, tries: [ProbeObservation],
                attempts: Int = 1, elapsedMilliseconds: Double) {
        let verdict = ProbeVerdict.evaluate(expectation, action: action, tries: tries)
        self.name = name
        self.from = from
        self.to = to
        self.group = group
        self.endpoint = endpoint
        self.byName = byName
        self.action = action
        self.expectation = expectation
        passed = verdict.passed
        explanation = verdict.explanation
        observed = Self.summary(of: tries, action: action)
        self.attempts = attempts
        self.elapsedMilliseconds = elapsedMilliseconds
        self.tries = tries
    }

    /// The result of `task` from the tries of its last attempt.
    public init(task: ProbeTask, tries: [ProbeObservation], attempts: Int, elapsedMilliseconds: Double) {
        self.init(name: task.name, from: task.from, to: task.to, group: task.group, endpoint: task.endpoint,
                  byName: task.namedTarget, action: task.action, expectation: task.expectation, tries: tries, attempts: attempts,
                  elapsedMilliseconds: elapsedMilliseconds)
    }

    /// The kind and where it went: `ping 10.0.0.5 ×3`, `http GET 10.96.0.1:80/hostname`,
    /// `tcp 10.0.0.5:9000`, `exec curl -sf …`.
    public var kindDescription: String { Self.kindDescription(action: action, endpoint: endpoint, byName: byName) }

    /// `kindDescription` of a probe before it ran: a probe by name shows the name, since its
    /// address is only known once it ran (`http GET cart.store:80/`).
    static func kindDescription(action: ProbeAction, endpoint: ProbeEndpoint?, byName: NamedTarget? = nil) -> String {
        let target = byName?.description ?? endpoint?.description ?? "(no target)"
        switch action {
        case .ping(let count): return "ping \(byName?.name ?? endpoint?.address.description ?? target) ×\(count)"
        case .http(let path, let method): return "http \(method) \(target)\(path)"
        case .tcp: return "tcp \(target)"
        case .udp: return "udp \(target)"
        case .exec(let argv): return "exec " + argv.joined(separator: " ")
        case .dns(let name, let type): return "dns \(type.rawValue) \(name) @\(endpoint?.address.description ?? "?")"
        }
    }

    /// Whether this probe got through, as a truth table shows it: every try answered.
    /// Nil when a try could not run, which says nothing about the network.
    public var observedReachable: Bool? {
        if tries.contains(where: { $0.outcome == .error }) || tries.isEmpty { return nil }
        return tries.allSatisfy { $0.outcome == .reached }
    }

    /// Pings add up over tries (one line of replies and rtt); other kinds list each distinct
    /// answer once with its count, in the order first seen: `HTTP 200 "web-1" ×14, …`.
    static func summary(of tries: [ProbeObservation], action: ProbeAction) -> String {
        guard !tries.isEmpty else { return "nothing" }
        if case .ping = action, tries.allSatisfy({ $0.outcome == .reached }) {
            var total = tries[0]
            total.echoesSent = tries.reduce(0) { $0 + ($1.echoesSent ?? 0) }
            total.rttMilliseconds = tries.flatMap { $0.rttMilliseconds ?? [] }
            return ProbeFormat.observation(total, action: action)
        }
        let single = tries.count == 1
        var counts: [String: Int] = [:]
        var order: [String] = []
        for observation in tries {
            let text = ProbeFormat.observation(observation, action: action, withTime: single)
            if counts[text] == nil { order.append(text) }
            counts[text, default: 0] += 1
        }
        let shown = 4
        var parts = order.prefix(shown).map { counts[$0]! > 1 ? "\($0) ×\(counts[$0]!)" : $0 }
        if order.count > shown { parts.append("and \(order.count - shown) other answers") }
        return parts.joined(separator: ", ")
    }
}
