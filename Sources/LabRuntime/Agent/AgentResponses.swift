/// What the agent says, as pure functions of the request and the peer, so every answer is
/// tested without a socket. The texts follow agnhost netexec: bare values without a trailing
/// newline, so a probe compares the body with the expected pod name or address exactly.
enum AgentResponses {
    /// The answer to a well-formed HTTP request.
    ///
    /// - `/`, `/hostname`: the pod name.
    /// - `/clientip`: `ip:port` of the peer as the pod's socket saw it, so a probe can tell
    ///   whether it was NATed (a Service hop, masquerade) on the way.
    /// - `/echo?msg=x`: `x`, percent-decoded.
    /// - `/healthz`: `ok`.
    /// Only GET and HEAD are served; a HEAD response is built the same and sent without body.
    static func http(_ request: HTTPRequest, pod: String, peer: String) -> HTTPResponse {
        guard request.method == "GET" || request.method == "HEAD" else {
            return HTTPResponse(status: .methodNotAllowed, text: "405 method not allowed\n",
                                extraHeaders: ["Allow: GET, HEAD"])
        }
        guard let path = PercentDecoding.decode(Substring(request.path), plusIsSpace: false) else {
            return rejection(.badRequest, reason: "malformed percent-encoding in path")
        }
        switch String(decoding: path, as: UTF8.self) {
        case "/", "/hostname":
            return HTTPResponse(status: .ok, text: pod)
        case "/clientip":
            return HTTPResponse(status: .ok, text: peer)
        case "/healthz":
            return HTTPResponse(status: .ok, text: "ok")
        case "/echo":
            switch PercentDecoding.value(of: "msg", inQuery: request.query ?? "") {
            case .found(let message): return HTTPResponse(status: .ok, body: message)
            case .absent: return HTTPResponse(status: .ok, body: [])
            case .malformed: return rejection(.badRequest, reason: "malformed percent-encoding in msg")
            }
        default:
            return HTTPResponse(status: .notFound, text: "404 page not found\n")
        }
    }

    /// The answer to input that is not a request the agent can serve; the connection is
    /// closed after it.
    static func rejection(_ status: HTTPStatus, reason: String) -> HTTPResponse {
        HTTPResponse(status: status, text: "\(status): \(reason)\n")
    }

    /// How the connection continues after answering `request`. A request with a body ends the
    /// connection, since the agent does not read bodies and could not find the next request.
    static func persistence(after request: HTTPRequest) -> HTTPResponse.Persistence {
        guard request.keepAlive, !request.hasBody else { return .close }
        return request.version == .http10 ? .keepAliveHTTP10 : .keepAlive
    }

    /// What a TCP agent port sends on connect: the pod name and a newline, after which it
    /// echoes.
    static func tcpGreeting(pod: String) -> [UInt8] {
        Array("\(pod)\n".utf8)
    }

    /// The answer to every UDP datagram: `<pod> <client ip:port>`.
    static func udpReply(pod: String, peer: String) -> [UInt8] {
        Array("\(pod) \(peer)".utf8)
    }
}
