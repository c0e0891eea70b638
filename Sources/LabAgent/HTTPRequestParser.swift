/// Finds and parses the request head at the start of a connection's unread input. Pure: bytes
/// in, outcome out; the connection owns the bytes.
///
/// Incremental: after every read, call `parse` again with the grown input. The search for the
/// end of the head resumes where it stopped, so a client sending one byte at a time costs
/// linear time, not quadratic.
///
/// Strict where leniency would let two parsers disagree about where a request ends (bare CR,
/// line folding, space before a colon, conflicting Content-Length), lenient where agnhost's
/// clients differ harmlessly: bare LF line ends, empty lines before the request line, and a
/// missing Host header (hand-typed `nc` requests omit it; the agent has only one host).
struct HTTPRequestParser {
    enum Outcome: Equatable {
        case incomplete
        /// The first `length` bytes of the input were this request's head (with any empty lines
        /// before it).
        case request(HTTPRequest, length: Int)
        /// Answer with `status` and close: the input cannot be framed any further.
        case rejected(HTTPStatus, reason: String)
    }

    /// Heads longer than this are rejected (414 if even the request line does not fit).
    let maxHeadBytes: Int
    /// How far the input has been searched for the end of the head.
    private var searched = 0

    init(maxHeadBytes: Int) {
        self.maxHeadBytes = maxHeadBytes
    }

    /// Forgets the search; call after removing a request's bytes from the input.
    mutating func reset() { searched = 0 }

    mutating func parse(_ input: [UInt8]) -> Outcome {
        // RFC 9112 §2.2: a server should ignore empty lines received before the request line.
        var start = 0
        while start < input.count, input[start] == HTTPSyntax.lf || input[start] == HTTPSyntax.cr { start += 1 }

        // The head ends at the first empty line: LF followed by LF or by CR LF.
        var end: Int?
        var index = max(start, searched)
        while index < input.count {
            if input[index] == HTTPSyntax.lf {
                let rest = input.count - index - 1
                if rest >= 1, input[index + 1] == HTTPSyntax.lf { end = index + 2; break }
                if rest >= 2, input[index + 1] == HTTPSyntax.cr, input[index + 2] == HTTPSyntax.lf { end = index + 3; break }
                // Too few bytes yet to tell; look at this line end again next time.
                if rest == 0 || rest == 1 && input[index + 1] == HTTPSyntax.cr { break }
            }
            index += 1
        }
        searched = index

        guard let end, end <= maxHeadBytes else {
            guard input.count > maxHeadBytes || end != nil else { return .incomplete }
            if !input[start...].prefix(maxHeadBytes).contains(HTTPSyntax.lf) {
                return .rejected(.uriTooLong, reason: "request line longer than \(maxHeadBytes) bytes")
            }
            return .rejected(.headerFieldsTooLarge, reason: "request head longer than \(maxHeadBytes) bytes")
        }
        switch Self.parseHead(input[start..<end]) {
        case .success(let request): return .request(request, length: end)
        case .failure(let rejection): return .rejected(rejection.status, reason: rejection.reason)
        }
    }

    struct Rejection: Error {
        var status: HTTPStatus
        var reason: String
        static func bad(_ reason: String) -> Rejection { Rejection(status: .badRequest, reason: reason) }
    }

    /// Parses a complete head: the request line, header lines, and the empty line ending it.
    static func parseHead(_ head: ArraySlice<UInt8>) -> Result<HTTPRequest, Rejection> {
        var lines: [ArraySlice<UInt8>] = []
        for rawLine in head.split(separator: HTTPSyntax.lf, omittingEmptySubsequences: false) {
            let line = rawLine.last == HTTPSyntax.cr ? rawLine.dropLast() : rawLine
            if line.contains(HTTPSyntax.cr) { return .failure(.bad("bare CR in request head")) }
            if line.contains(0) { return .failure(.bad("NUL in request head")) }
            lines.append(line)
        }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard let requestLine = lines.first else { return .failure(.bad("empty request")) }
        do throws(Rejection) {
            var request = try parseRequestLine(requestLine)
            for line in lines.dropFirst() { request.headers.append(try parseHeaderLine(line)) }
            try checkFraming(request)
            return .success(request)
        } catch {
            return .failure(error)
        }
    }

    /// `METHOD SP request-target SP HTTP-version`, exactly one space apart.
    static func parseRequestLine(_ line: ArraySlice<UInt8>) throws(Rejection) -> HTTPRequest {
        let parts = line.split(separator: HTTPSyntax.space, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw Rejection.bad("malformed request line")
        }
        guard parts[0].allSatisfy(HTTPSyntax.isTokenCharacter) else { throw Rejection.bad("malformed method") }
        guard parts[1].allSatisfy({ (0x21...0x7E).contains($0) }) else { throw Rejection.bad("malformed request target") }
        let version: HTTPRequest.Version
        let versionBytes = Array(parts[2])
        switch String(decoding: versionBytes, as: UTF8.self) {
        case "HTTP/1.1": version = .http11
        case "HTTP/1.0": version = .http10
        case let other where versionBytes.count == 8 && other.hasPrefix("HTTP/") && HTTPSyntax.isDigit(versionBytes[5])
            && versionBytes[6] == UInt8(ascii: ".") && HTTPSyntax.isDigit(versionBytes[7]):
            throw Rejection(status: .versionNotSupported, reason: "\(other) is not supported; use HTTP/1.1")
        default:
            throw Rejection.bad("malformed HTTP version")
        }
        let target = String(decoding: parts[1], as: UTF8.self)
        let (path, query) = try splitTarget(target)
        return HTTPRequest(method: String(decoding: parts[0], as: UTF8.self), target: target,
                           path: path, query: query, version: version, headers: [])
    }

    /// Origin form (`/path?query`), absolute form (`http://host/path?query`, which proxies send)
    /// or `*` (only meaningful for OPTIONS, which the agent refuses anyway).
    static func splitTarget(_ target: String) throws(Rejection) -> (path: String, query: String?) {
        var rest = Substring(target)
        if target == "*" { return ("*", nil) }
        if !target.hasPrefix("/") {
            let lowered = target.lowercased()
            guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://"),
                  let schemeEnd = rest.range(of: "://") else {
                throw Rejection.bad("malformed request target")
            }
            rest = rest[schemeEnd.upperBound...]
            rest = rest[(rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex)...]
        }
        let path: Substring
        let query: Substring?
        if let mark = rest.firstIndex(of: "?") {
            path = rest[..<mark]
            query = rest[rest.index(after: mark)...]
        } else {
            path = rest
            query = nil
        }
        return (path.isEmpty ? "/" : String(path), query.map(String.init))
    }

    /// `name: value`, no space before the colon (RFC 9112 §5.1) and no line folding.
    static func parseHeaderLine(_ line: ArraySlice<UInt8>) throws(Rejection) -> (name: String, value: String) {
        if let first = line.first, first == HTTPSyntax.space || first == HTTPSyntax.tab {
            throw Rejection.bad("obsolete line folding in header")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw Rejection.bad("header line without a colon") }
        let name = line[..<colon]
        guard !name.isEmpty, name.allSatisfy(HTTPSyntax.isTokenCharacter) else { throw Rejection.bad("malformed header name") }
        let rawValue = line[(colon + 1)...]
        guard rawValue.allSatisfy({ $0 == HTTPSyntax.tab || $0 >= 0x20 && $0 != 0x7F }) else {
            throw Rejection.bad("control character in header \(String(decoding: name, as: UTF8.self))")
        }
        let value = String(decoding: rawValue, as: UTF8.self)
        return (String(decoding: name, as: UTF8.self), String(HTTPSyntax.trimmingWhitespace(Substring(value))))
    }

    /// Rejects heads whose body length two parsers could read differently (request smuggling):
    /// Content-Length that is not a number, several that disagree, or one with Transfer-Encoding.
    static func checkFraming(_ request: HTTPRequest) throws(Rejection) {
        let lengths = request.headers.filter { $0.name.lowercased() == "content-length" }.map(\.value)
        for length in lengths {
            guard !length.isEmpty, length.utf8.count <= 18, length.utf8.allSatisfy(HTTPSyntax.isDigit) else {
                throw Rejection.bad("malformed Content-Length")
            }
        }
        if Set(lengths).count > 1 { throw Rejection.bad("conflicting Content-Length headers") }
        if !lengths.isEmpty, request.header("Transfer-Encoding") != nil {
            throw Rejection.bad("both Content-Length and Transfer-Encoding")
        }
    }
}
