import LabAddress
import LabPlan
import LabSpec

/// Whether a probe's tries meet its expectation, and if not, why — in one line that says what
/// was expected and what was observed. Pure: the engine records observations, this judges them.
public struct ProbeVerdict: Sendable, Hashable {
    /// One sentence per expectation not met, in the order of `expect`'s keys.
    public var failures: [String]

    public var passed: Bool { failures.isEmpty }
    /// The failures as one line; nil when the probe passed.
    public var explanation: String? { failures.isEmpty ? nil : failures.joined(separator: "; ") }

    public init(failures: [String]) { self.failures = failures }

    /// Judges the tries of one attempt (`repeat` of them).
    ///
    /// A try that could not run fails everything; `reach: false` passes only if every try was
    /// blocked; otherwise every try must have been answered before the other keys are checked,
    /// since a status or a body of a try that got no answer means nothing.
    public static func evaluate(_ expectation: ProbeExpectation, action: ProbeAction,
                                tries: [ProbeObservation]) -> ProbeVerdict {
        guard !tries.isEmpty else { return ProbeVerdict(failures: ["no try was run"]) }
        let label = { (index: Int) in ProbeFormat.tryLabel(index, of: tries.count) }
        if let index = tries.firstIndex(where: { $0.outcome == .error }) {
            let failed = tries[index]
            let reason = [failed.detail, failed.errno.map { "(\($0))" }].compactMap { $0 }.joined(separator: " ")
            return ProbeVerdict(failures: ["could not probe: \(reason.isEmpty ? "unknown error" : reason)\(label(index))"])
        }
        guard expectation.reach else {
            if let index = tries.firstIndex(where: { !$0.outcome.isBlocked }) {
                let seen = ProbeFormat.observation(tries[index], action: action)
                return ProbeVerdict(failures: ["expected no answer (reach: false), got \(seen)\(label(index))"])
            }
            return ProbeVerdict(failures: [])
        }
        if let index = tries.firstIndex(where: { $0.outcome != .reached }) {
            let expected = if case .exec = action { "exit status 0" } else { "an answer" }
            return ProbeVerdict(failures: ["expected \(expected), got \(ProbeFormat.failure(tries[index]))\(label(index))"])
        }
        if case .dns(_, let type) = action { return dnsVerdict(expectation, type: type, tries: tries) }
        var failures: [String] = []
        if let status = expectation.status,
           let index = tries.firstIndex(where: { $0.status != status }) {
            failures.append("expected HTTP \(status), got \(tries[index].status.map(String.init) ?? "no status")\(label(index))")
        }
        if let body = expectation.body,
           let index = tries.firstIndex(where: { !($0.body ?? "").contains(body) }) {
            failures.append("expected a body containing \(ProbeFormat.quoted(body)), got \(ProbeFormat.quoted(tries[index].body ?? ""))\(label(index))")
        }
        if let servedBy = expectation.servedBy, let failure = servedByFailure(servedBy, action: action, tries: tries) {
            failures.append(failure)
        }
        if let clientIP = expectation.clientIP {
            for (index, observation) in tries.enumerated() {
                let seen = AgentAnswer.clientAddress(of: observation, action: action)
                guard seen != clientIP else { continue }
                let shown = seen.map { (IPv4Address($0) != nil || $0.contains(":")) ? $0 : ProbeFormat.quoted($0) + " (not an address: clientIP reads the agent's /clientip answer)" } ?? "no answer to read"
                failures.append("expected client IP \(clientIP), the server saw \(shown)\(label(index))")
                break
            }
        }
        let rtts = tries.flatMap { $0.rttMilliseconds ?? [] }
        if let bound = expectation.rtt {
            if rtts.isEmpty {
                failures.append("expected rtt \(ProbeFormat.bound(bound, unit: "ms")), but no echo was answered")
            } else {
                let mean = rtts.reduce(0, +) / Double(rtts.count)
                if !bound.admits(mean) {
                    let shown = [("mean", mean), ("min", rtts.min()!), ("max", rtts.max()!)]
                        .map { "\($0) \(ProbeFormat.fixed($1, places: 3))ms" }
                    failures.append("expected rtt \(ProbeFormat.bound(bound, unit: "ms")), measured \(shown[0]) (\(shown[1]), \(shown[2]))")
                }
            }
        }
        if let bound = expectation.loss {
            let sent = tries.reduce(0) { $0 + ($1.echoesSent ?? 0) }
            let loss = sent == 0 ? 100 : Double(sent - rtts.count) * 100 / Double(sent)
            if !bound.admits(loss) {
                let percent = ProbeFormat.number((loss * 10).rounded() / 10)
                failures.append("expected loss \(ProbeFormat.bound(bound, unit: "%")), measured \(percent)% (\(rtts.count) of \(sent) echoes answered)")
            }
        }
        return ProbeVerdict(failures: failures)
    }

    /// A dns probe whose every try got a reply: the response code it ended with, and the
    /// answers — exactly those listed (in any order), or by default at least one.
    private static func dnsVerdict(_ expectation: ProbeExpectation, type: DNSProbeType, tries: [ProbeObservation]) -> ProbeVerdict {
        for (index, observation) in tries.enumerated() {
            let lookup = observation.lookup ?? LookupObservation(name: "?", type: type.rawValue)
            let seen = ProbeFormat.lookupAnswer(lookup)
            let label = ProbeFormat.tryLabel(index, of: tries.count)
            let rcode = lookup.rcode ?? "no answer"
            let expectedRcode = expectation.rcode ?? (expectation.answers != nil ? .noError : nil)
            if let expectedRcode, rcode != expectedRcode.rawValue {
                return ProbeVerdict(failures: ["expected \(expectedRcode.rawValue), got \(seen)\(searched(lookup))\(label)"])
            }
            if let answers = expectation.answers {
                let missing = answers.filter { want in !lookup.answers.contains { DNSProbeMessage.matches(expected: want, seen: $0, type: type) } }
                let extra = lookup.answers.filter { got in !answers.contains { DNSProbeMessage.matches(expected: $0, seen: got, type: type) } }
                if !missing.isEmpty || !extra.isEmpty {
                    var problems: [String] = []
                    if !missing.isEmpty { problems.append("missing \(missing.joined(separator: ", "))") }
                    if !extra.isEmpty { problems.append("not listed \(extra.joined(separator: ", "))") }
                    let expected = answers.isEmpty ? "no answer" : answers.joined(separator: ", ")
                    return ProbeVerdict(failures: ["expected answers \(expected), got \(seen): \(problems.joined(separator: "; "))\(label)"])
                }
            } else if expectation.rcode == nil, lookup.answers.isEmpty {
                return ProbeVerdict(failures: ["expected \(type.rawValue) answers, got \(seen)\(searched(lookup))\(label)"])
            }
        }
        return ProbeVerdict(failures: [])
    }

    /// ` (asked web.default.svc.cluster.local., …)`: the names a failed lookup tried.
    private static func searched(_ lookup: LookupObservation) -> String {
        guard !lookup.queries.isEmpty else { return "" }
        return " (asked " + lookup.queries.map { String($0.prefix { $0 != " " }) }.joined(separator: ", ") + ")"
    }

    /// Every listed pod answered at least once and no other did; a try whose answer names no
    /// pod counts as `(no name)`, which is never listed.
    private static func servedByFailure(_ expected: [String], action: ProbeAction, tries: [ProbeObservation]) -> String? {
        var counts: [String: Int] = [:]
        var order: [String] = []
        for observation in tries {
            let server = AgentAnswer.server(of: observation, action: action).flatMap { $0.isEmpty ? nil : $0 } ?? "(no name)"
            if counts[server] == nil { order.append(server) }
            counts[server, default: 0] += 1
        }
        let missing = expected.filter { counts[$0] == nil }
        let extra = order.filter { !expected.contains($0) }
        guard !missing.isEmpty || !extra.isEmpty else { return nil }
        let seen = order.sorted().map { "\($0) ×\(counts[$0]!)" }.joined(separator: ", ")
        var problems: [String] = []
        if !missing.isEmpty { problems.append("\(missing.joined(separator: ", ")) never answered") }
        if !extra.isEmpty { problems.append("\(extra.sorted().joined(separator: ", ")) answered but \(extra.count == 1 ? "is" : "are") not listed") }
        return "expected servedBy \(expected.joined(separator: ", ")) over \(tries.count) tries, got \(seen): \(problems.joined(separator: ", "))"
    }
}
