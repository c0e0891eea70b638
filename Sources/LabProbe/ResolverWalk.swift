import Glibc
import LabAddress
import LabDNS
import LabSpec

/// glibc's search-path walk (`__res_context_search`) over the answers a lookup gets, one
/// candidate name at a time. Pure: the conversation feeds it replies, tests feed it rcodes.
///
/// - NXDOMAIN, NODATA (NOERROR without an answer of the type) and SERVFAIL move on to the next
///   candidate; REFUSED, FORMERR and NOTIMP end the walk (glibc's NO_RECOVERY), as does no
///   answer at all.
/// - When every candidate is used up, the walk ends with NOERROR if any of them existed
///   (NODATA), else SERVFAIL if one failed, else NXDOMAIN: the error glibc reports.
struct ResolverWalk {
    let candidates: [String]
    private(set) var index = 0
    /// `name RCODE`, one per candidate asked.
    private(set) var queries: [String] = []
    private var sawNoData = false
    private var sawServerFailure = false

    init(candidates: [String]) { self.candidates = candidates }

    enum Step: Equatable {
        case ask(String)
        /// Ended with this code: answers were found (NOERROR) or none (the code says why).
        case done(DNSResponseCode, answered: Bool)
    }

    /// The first name to ask.
    var first: Step { candidates.isEmpty ? .done(.nameError, answered: false) : .ask(candidates[0]) }

    /// Records the reply to the current candidate: its code and how many answers of the type
    /// it carried.
    mutating func record(_ rcode: DNSResponseCode, answers: Int) -> Step {
        queries.append("\(candidates[index]) \(rcode)")
        if rcode == .noError, answers > 0 { return .done(.noError, answered: true) }
        switch rcode {
        case .noError: sawNoData = true
        case .nameError: break
        case .serverFailure: sawServerFailure = true
        default: return .done(rcode, answered: false)
        }
        index += 1
        if index < candidates.count { return .ask(candidates[index]) }
        return .done(sawNoData ? .noError : sawServerFailure ? .serverFailure : .nameError, answered: false)
    }

    /// Records that the current candidate got no reply (`what`: `timeout`, `refused`).
    mutating func recordSilence(_ what: String) {
        queries.append("\(candidates[index]) \(what)")
    }
}

/// The messages of one lookup: the query a resolver sends and what a reply says.
enum DNSProbeMessage {
    /// A query as glibc sends it: recursion desired, no EDNS (so a reply over 512 bytes comes
    /// truncated and the question is asked again over TCP).
    static func query(id: UInt16, name: DNSName, type: DNSType) -> [UInt8] {
        DNSMessage.query(id: id, name: name, type: type).encoded(limit: 512)
    }

    /// The type a probe asks for on the wire.
    static func type(_ type: DNSProbeType) -> DNSType {
        switch type {
        case .a: .a
        case .aaaa: .aaaa
        case .srv: .srv
        case .ptr: .ptr
        }
    }

    /// The name a `dns` probe looks up: a PTR of an IPv4 address is its in-addr.arpa name,
    /// absolute, as `dig -x` asks it.
    static func lookupName(_ name: String, type: DNSProbeType) -> String {
        guard type == .ptr, let address = IPv4Address(name) else { return name }
        return address.reverseName.description
    }

    /// A reply to `id` and `question`, or nil when these bytes are not one (another query's
    /// late reply, garbage): the caller keeps waiting.
    static func reply(_ bytes: [UInt8], id: UInt16, question: DNSQuestion) -> DNSMessage? {
        guard let message = try? DNSMessage(decoding: bytes), message.header.id == id, message.header.isResponse else { return nil }
        // A truncated reply may come without its question (RFC 1035 leaves it to the server).
        if let asked = message.questions.first, !(asked.name.matches(question.name) && asked.type == question.type) { return nil }
        return message
    }

    /// The answers of `type`, as `dig +short` prints them: `10.96.0.10`, `0 100 80 web…`, `web….`.
    static func answers(_ message: DNSMessage, type: DNSType) -> [String] {
        message.answers.filter { $0.type == type }.map(\.data.text)
    }

    /// Whether an answer as a lab file writes it (`expect.answers`) is the answer seen, for the
    /// probe's type: names ignore case and the trailing dot; an SRV of two fields compares
    /// only the port and target.
    static func matches(expected: String, seen: String, type: DNSProbeType) -> Bool {
        func name(_ text: Substring) -> String { (text.hasSuffix(".") ? text.dropLast() : text).lowercased() }
        switch type {
        case .a: return IPv4Address(expected) == IPv4Address(seen)
        case .aaaa: return expected.lowercased() == seen.lowercased()
        case .ptr: return name(Substring(expected)) == name(Substring(seen))
        case .srv:
            let want = expected.split(separator: " "), got = seen.split(separator: " ")
            guard got.count == 4, let wantTarget = want.last else { return false }
            let numbers = want.count == 2 ? [got[2]] : Array(got[0..<3])
            return Array(want.dropLast()) == numbers && name(wantTarget) == name(got[3])
        }
    }
}
