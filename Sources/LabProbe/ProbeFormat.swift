import Foundation
import LabPlan
import LabSpec

/// How numbers, times and observed text are written in reports, in one place so the text,
/// JUnit and truth-table reports say the same thing the same way. Pure and locale-free: the
/// same result always renders to the same bytes.
enum ProbeFormat {
    /// A duration for the time column: `0.42ms`, `4.2ms`, `42ms`, `2.00s`.
    static func duration(milliseconds ms: Double) -> String {
        switch ms {
        case ..<1: fixed(ms, places: 2) + "ms"
        case ..<10: fixed(ms, places: 1) + "ms"
        case ..<1000: fixed(ms, places: 0) + "ms"
        default: fixed(ms / 1000, places: 2) + "s"
        }
    }

    /// A bound as a lab file writes it: `<5ms`, `<=0%`.
    static func bound(_ bound: MeasurementBound, unit: String) -> String { bound.text(unit: unit) }

    /// The shortest text of a number: `5`, `0.5`, `33.3`.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// `value` with exactly `places` decimals. `String(format:)` ignores the locale.
    static func fixed(_ value: Double, places: Int) -> String {
        String(format: "%.\(places)f", value)
    }

    /// Text seen on the wire, quoted for a one-line report: control characters escaped, cut
    /// after `limit` characters with an ellipsis, so a large or binary body cannot break a line.
    static func quoted(_ text: String, limit: Int = 40) -> String {
        let shown = text.unicodeScalars.prefix(limit)
        let table: [Unicode.Scalar: String] = ["\"": "\\\"", "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"]
        let escaped = TextEscaping.escape(shown, table) { scalar in
            scalar.value < 0x20 || scalar.value == 0x7f ? "\\x" + String(format: "%02x", scalar.value) : nil
        }
        return "\"" + escaped + (shown.endIndex < text.unicodeScalars.endIndex ? "…" : "") + "\""
    }

    /// `(try 3 of 30)` after a statement about one try, nothing when there was only one.
    static func tryLabel(_ index: Int, of count: Int) -> String {
        count == 1 ? "" : " (try \(index + 1) of \(count))"
    }

    /// A try that did not get through, or failed to run: `refused (ECONNREFUSED)`,
    /// `timeout after 2.00s`, `exit 1`, `error: socket: EMFILE`.
    static func failure(_ observation: ProbeObservation, withTime: Bool = true) -> String {
        let errno = observation.errno.map { " (\($0))" } ?? ""
        let detail = observation.detail.map { ": \($0)" } ?? ""
        switch observation.outcome {
        case .reached: return "reached"
        case .timeout: return (withTime ? "timeout after \(duration(milliseconds: observation.elapsedMilliseconds))" : "timeout") + detail
        case .refused: return "refused\(errno)\(detail)"
        case .unresolved: return "unresolved\(detail)"
        case .unreachable: return "unreachable\(errno)\(detail)"
        case .reset: return "reset\(errno)"
        case .badAnswer: return "bad answer\(detail)"
        case .exited:
            let status = observation.exitStatus.map { "exit \($0)" } ?? "exited"
            return observation.detail.map { "\(status) (\($0))" } ?? status
        case .error: return "error\(detail)\(errno)"
        }
    }

    /// What one try saw, whatever its outcome: `HTTP 200 "web-1"`, `3/3 replies`, `timeout`.
    static func observation(_ observation: ProbeObservation, action: ProbeAction, withTime: Bool = true) -> String {
        // A probe by name says where the name led before what it found there.
        if case .dns = action {} else if observation.outcome != .unresolved, let lookup = observation.lookup, let address = lookup.address {
            var plain = observation
            plain.lookup = nil
            // Several answers (a headless service): all of them, and which one was used.
            let others = lookup.answers.count > 1 ? " of " + lookup.answers.prefix(4).joined(separator: ", ")
                + (lookup.answers.count > 4 ? " and \(lookup.answers.count - 4) more" : "") : ""
            return "\(lookup.name) → \(address)\(others), " + self.observation(plain, action: action, withTime: withTime)
        }
        switch observation.outcome {
        case .reached: return answer(observation, action: action)
        case .exited where observation.output.map({ !$0.isEmpty }) ?? false:
            return failure(observation) + ", output " + quoted(firstLine(observation.output ?? ""))
        default: return failure(observation, withTime: withTime)
        }
    }

    /// A reached try in the words of its kind.
    private static func answer(_ observation: ProbeObservation, action: ProbeAction) -> String {
        switch action {
        case .ping:
            let sent = observation.echoesSent ?? 0
            return "\(observation.echoesReceived ?? 0)/\(sent) \(sent == 1 ? "reply" : "replies")" + rttSummary(observation.rttMilliseconds ?? [])
        case .http:
            let status = observation.status.map(String.init) ?? "?"
            return "HTTP \(status) " + quoted(observation.body ?? "")
        case .tcp:
            guard let greeting = observation.answer, !greeting.isEmpty else { return "connected" }
            return "connected, greeting " + quoted(greeting)
        case .udp:
            return "answer " + quoted(observation.answer ?? "")
        case .exec:
            let output = observation.output.map(firstLine) ?? ""
            return output.isEmpty ? "exit 0" : "exit 0, output " + quoted(output)
        case .dns:
            return observation.lookup.map(lookupAnswer) ?? "answered"
        }
    }

    /// A lookup's end, as dig would summarize it: `NOERROR 10.96.0.10 (web.default.svc.cluster.local.)`,
    /// `NOERROR, no answer`, `NXDOMAIN after 4 names`.
    static func lookupAnswer(_ lookup: LookupObservation) -> String {
        let rcode = lookup.rcode ?? "no answer"
        let tcp = lookup.overTCP == true ? " over TCP" : ""
        if !lookup.answers.isEmpty {
            let shown = lookup.answers.count > 4 ? lookup.answers.prefix(4).joined(separator: ", ") + " and \(lookup.answers.count - 4) more"
                                                 : lookup.answers.joined(separator: ", ")
            return "\(rcode) \(shown) (\(lookup.answeredName ?? lookup.name))\(tcp)"
        }
        let names = lookup.queries.count
        return (rcode == "NOERROR" ? "NOERROR, no answer" : rcode) + " after \(names) \(names == 1 ? "name" : "names")\(tcp)"
    }

    /// `, rtt 0.021/0.034/0.051ms` (min/avg/max, as ping prints them), or nothing.
    static func rttSummary(_ rtts: [Double]) -> String {
        guard let low = rtts.min(), let high = rtts.max() else { return "" }
        let mean = rtts.reduce(0, +) / Double(rtts.count)
        return ", rtt " + [low, mean, high].map { fixed($0, places: 3) }.joined(separator: "/") + "ms"
    }

    static func firstLine(_ text: String) -> String {
        String(text.prefix { $0 != "\n" && $0 != "\r\n" && $0 != "\r" })
    }

    /// `text` followed by spaces up to `width` characters; never cut.
    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
