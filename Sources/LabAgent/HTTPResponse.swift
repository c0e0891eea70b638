/// An answer of the agent: always `text/plain` with an exact Content-Length, so any client
/// knows where it ends without chunked encoding or closing the connection.
struct HTTPResponse: Equatable, Sendable {
    var status: HTTPStatus
    var body: [UInt8]
    /// Fields beyond the standard ones, e.g. `Allow` on a 405.
    var extraHeaders: [String] = []

    init(status: HTTPStatus, body: [UInt8], extraHeaders: [String] = []) {
        self.status = status
        self.body = body
        self.extraHeaders = extraHeaders
    }

    init(status: HTTPStatus, text: String, extraHeaders: [String] = []) {
        self.init(status: status, body: Array(text.utf8), extraHeaders: extraHeaders)
    }

    /// What the connection does after this response, as the `Connection` field announces it.
    enum Persistence: Equatable {
        /// `Connection: close`: the server closes after writing.
        case close
        /// No field: HTTP/1.1's default of keeping the connection.
        case keepAlive
        /// `Connection: keep-alive`: an HTTP/1.0 client asked for it and must be told yes.
        case keepAliveHTTP10
    }

    /// The bytes on the wire. A response to HEAD carries the Content-Length the GET body would
    /// have and no body (RFC 9110 §9.3.2).
    func serialized(includeBody: Bool, persistence: Persistence) -> [UInt8] {
        var head = "HTTP/1.1 \(status)\r\n"
        head += "Content-Type: text/plain; charset=utf-8\r\n"
        head += "Content-Length: \(body.count)\r\n"
        switch persistence {
        case .close: head += "Connection: close\r\n"
        case .keepAlive: break
        case .keepAliveHTTP10: head += "Connection: keep-alive\r\n"
        }
        for field in extraHeaders { head += "\(field)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + (includeBody ? body : [])
    }
}
