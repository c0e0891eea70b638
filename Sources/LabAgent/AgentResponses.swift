import Foundation

/// What the agent says, as pure functions of the request and the peer, so every answer is
/// tested without a socket, and how a probe reads it back: the agent's wire format in one
/// place, so the writer and the reader cannot drift apart. The texts follow agnhost netexec:
/// bare values without a trailing newline, so a probe compares the body with the expected pod
/// name or address exactly.
public enum AgentResponses {
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
    public static func tcpGreeting(pod: String) -> [UInt8] {
        Array("\(pod)\n".utf8)
    }

    /// The answer to every UDP datagram: `<pod> <client ip:port>`.
    public static func udpReply(pod: String, peer: String) -> [UInt8] {
        Array("\(pod) \(peer)".utf8)
    }

    // Reading the answers back, as a probe does.

    /// The value of a `/hostname` or `/clientip` body or of a TCP greeting: its first line,
    /// without surrounding spaces.
    public static func value(ofLine text: String) -> String {
        String(text.prefix { $0 != "\n" && $0 != "\r\n" && $0 != "\r" }).trimmingCharacters(in: .whitespaces)
    }

    /// The pod (first word) and the peer it saw (second word) of a UDP reply; nil for a word
    /// that is missing.
    public static func fields(ofUDPReply text: String) -> (pod: String?, peer: String?) {
        let words = text.split(whereSeparator: \.isWhitespace).map(String.init)
        return (words.first, words.dropFirst().first)
    }

    /// The address of a peer as the agent writes it: `10.0.0.5` of `10.0.0.5:41234`, `fd00::5`
    /// of `[fd00::5]:41234`; anything else as is.
    public static func host(ofPeer peer: String) -> String {
        if peer.hasPrefix("["), let close = peer.firstIndex(of: "]") {
            return String(peer[peer.index(after: peer.startIndex)..<close])
        }
        if peer.filter({ $0 == ":" }).count == 1, let colon = peer.firstIndex(of: ":") {
            return String(peer[..<colon])
        }
        return peer
    }
}
