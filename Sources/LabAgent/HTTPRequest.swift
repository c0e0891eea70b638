/// A parsed request head. The agent never reads request bodies (no route takes one), so a
/// request is complete when its head is.
struct HTTPRequest: Equatable, Sendable {
    enum Version: Equatable, Sendable {
        case http10, http11
    }

    /// Case-sensitive, as RFC 9110 says: `get` is a different, unknown method.
    var method: String
    /// The request target exactly as sent, e.g. `/echo?msg=a%20b`.
    var target: String
    /// The path of the target, still percent-encoded; `/` for an absolute-form target without one.
    var path: String
    /// The query after `?`, still encoded; nil when the target has no `?`.
    var query: String?
    var version: Version
    /// Header fields in the order sent, names as sent.
    var headers: [(name: String, value: String)]

    /// The first value of a header field, matching the name case-insensitively.
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The comma-separated tokens of every `Connection` field, lowercased.
    var connectionOptions: Set<String> {
        var options = Set<String>()
        for field in headers where field.name.lowercased() == "connection" {
            for token in field.value.split(separator: ",") {
                options.insert(HTTPSyntax.trimmingWhitespace(token).lowercased())
            }
        }
        return options
    }

    /// Whether the client may send another request on this connection after the answer:
    /// HTTP/1.1 keeps the connection unless told `close`, HTTP/1.0 closes it unless told
    /// `keep-alive` (RFC 9112 §9.3).
    var keepAlive: Bool {
        switch version {
        case .http11: !connectionOptions.contains("close")
        case .http10: connectionOptions.contains("keep-alive")
        }
    }

    /// Whether a body follows the head. The agent answers such a request without reading the
    /// body and then closes the connection, which keeps the next request's framing from
    /// depending on body parsing it does not need.
    var hasBody: Bool {
        if header("Transfer-Encoding") != nil { return true }
        if let length = header("Content-Length"), let count = Int(length) { return count > 0 }
        return false
    }

    static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.path == rhs.path
            && lhs.query == rhs.query && lhs.version == rhs.version
            && lhs.headers.elementsEqual(rhs.headers) { $0.name == $1.name && $0.value == $1.value }
    }
}
