import LabAddress

/// A probe by name: the pod's resolver looks the name up (`DNSLookupConversation`), then the
/// probe's own conversation runs to the first address of the answer, as a client that calls
/// `getaddrinfo` and connects to its first result does. The try's observation is the probe's,
/// with the lookup attached; a name that does not resolve ends the try as `unresolved`, with
/// the response code and the names asked as its reason.
final class ByNameConversation: ProbeConversation {
    /// The lookup, which also holds the name and the port to connect to.
    private let lookup: DNSLookupConversation
    /// What opening the probe's socket gave.
    enum Opened {
        case conversation(ProbeConversation)
        case failed(ProbeObservation)
    }

    /// Opens the probe's socket in the pod's namespace and makes its conversation.
    private let makeProbe: (ProbeEndpoint) -> Opened
    private var probe: ProbeConversation?
    private var resolved: LookupObservation?
    private var started = ProbeInstant(nanoseconds: 0)
    private var lookupMilliseconds = 0.0

    var fd: Int32 { probe?.fd ?? lookup.fd }

    init(lookup: DNSLookupConversation, makeProbe: @escaping (ProbeEndpoint) -> Opened) {
        self.lookup = lookup
        self.makeProbe = makeProbe
    }

    func start(now: ProbeInstant) -> ProbeStep {
        started = now
        return lookupStep(lookup.start(now: now), now)
    }

    func advance(revents: Int16, now: ProbeInstant) -> ProbeStep {
        if let probe { return probeStep(probe.advance(revents: revents, now: now), now) }
        return lookupStep(lookup.advance(revents: revents, now: now), now)
    }

    private func lookupStep(_ step: ProbeStep, _ now: ProbeInstant) -> ProbeStep {
        guard case .finished(let observation) = step else { return step }
        lookupMilliseconds = now.milliseconds(since: started)
        guard case .answered(var seen)? = lookup.result else { return .finished(observation) }
        guard seen.rcode == "NOERROR", let first = seen.answers.first, let address = IPv4Address(first) else {
            let detail = Self.unresolved(lookup.lookup.name, seen)
            return .finished(ProbeObservation(outcome: .unresolved, detail: detail, elapsedMilliseconds: lookupMilliseconds, lookup: seen))
        }
        seen.address = address.description
        resolved = seen
        let endpoint = ProbeEndpoint(address: address, port: lookup.lookup.port)
        let probe: ProbeConversation
        switch makeProbe(endpoint) {
        case .conversation(let made): probe = made
        case .failed(var observation):
            observation.lookup = seen
            observation.elapsedMilliseconds = lookupMilliseconds
            return .finished(observation)
        }
        self.probe = probe
        return probeStep(probe.start(now: now), now)
    }

    private func probeStep(_ step: ProbeStep, _ now: ProbeInstant) -> ProbeStep {
        guard case .finished(var observation) = step else { return step }
        observation.lookup = resolved
        // The try's time is the lookup's and the connection's together.
        observation.elapsedMilliseconds += lookupMilliseconds
        return .finished(observation)
    }

    /// `web.nope: NXDOMAIN after search web.nope.default.svc.cluster.local., …`; each name's code
    /// is shown when they differ (`… web.nope. REFUSED`: outside the cluster zone).
    static func unresolved(_ name: String, _ seen: LookupObservation) -> String {
        let outcome = seen.rcode == "NOERROR" ? "no address (NOERROR, no A record)" : seen.rcode ?? "no answer"
        let codes = Set(seen.queries.map { $0.split(separator: " ").last.map(String.init) ?? "" })
        let asked = codes.count == 1 ? seen.queries.map { String($0.prefix { $0 != " " }) } : seen.queries
        switch asked.count {
        case 0: return "\(name): \(outcome)"
        case 1: return "\(name): \(outcome) for \(asked[0])"
        default: return "\(name): \(outcome) after search \(asked.joined(separator: ", "))"
        }
    }
}
