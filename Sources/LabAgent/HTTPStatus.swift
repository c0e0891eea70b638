/// The few status codes the agent answers with.
struct HTTPStatus: Equatable, Sendable, CustomStringConvertible {
    var code: Int
    var reason: String

    static let ok = HTTPStatus(code: 200, reason: "OK")
    static let badRequest = HTTPStatus(code: 400, reason: "Bad Request")
    static let notFound = HTTPStatus(code: 404, reason: "Not Found")
    static let methodNotAllowed = HTTPStatus(code: 405, reason: "Method Not Allowed")
    static let uriTooLong = HTTPStatus(code: 414, reason: "URI Too Long")
    static let headerFieldsTooLarge = HTTPStatus(code: 431, reason: "Request Header Fields Too Large")
    static let versionNotSupported = HTTPStatus(code: 505, reason: "HTTP Version Not Supported")

    /// `404 Not Found`.
    var description: String { "\(code) \(reason)" }
}
