import Foundation

/// Reading the built-in agent's answers (docs/architecture.md, "The built-in agent"), the way
/// agnhost netexec gives them: who answered and which client address it saw. Pure, so `servedBy`
/// and `clientIP` are evaluated on recorded observations.
enum AgentAnswer {
    /// The pod that answered: the `/hostname` body, the TCP greeting line, or the first word
    /// of the UDP answer `<pod> <client ip:port>`. Nil when there is no answer to read.
    static func server(of observation: ProbeObservation, action: ProbeAction) -> String? {
        switch action {
        case .http: observation.body.map(trimmedFirstLine)
        case .tcp: observation.answer.map(trimmedFirstLine)
        case .udp: observation.answer.flatMap { words($0).first }
        case .ping, .exec: nil
        }
    }

    /// The client address the server saw, without its port: from the `/clientip` body
    /// (`ip:port`) or the second word of the UDP answer. Nil when there is no answer to read.
    static func clientAddress(of observation: ProbeObservation, action: ProbeAction) -> String? {
        let peer: String? = switch action {
        case .http: observation.body.map(trimmedFirstLine)
        case .udp: observation.answer.flatMap { words($0).dropFirst().first }
        case .ping, .tcp, .exec: nil
        }
        return peer.map(host)
    }

    /// `10.0.0.5` of `10.0.0.5:41234`, `fd00::5` of `[fd00::5]:41234`; anything else as is.
    static func host(_ peer: String) -> String {
        if peer.hasPrefix("["), let close = peer.firstIndex(of: "]") {
            return String(peer[peer.index(after: peer.startIndex)..<close])
        }
        if peer.filter({ $0 == ":" }).count == 1, let colon = peer.firstIndex(of: ":") {
            return String(peer[..<colon])
        }
        return peer
    }

    private static func trimmedFirstLine(_ text: String) -> String {
        ProbeFormat.firstLine(text).trimmingCharacters(in: .whitespaces)
    }

    private static func words(_ text: String) -> [String] {
        text.split(whereSeparator: \.isWhitespace).map(String.init)
    }
}
