import LabAgent

/// Reading the built-in agent's answers (docs/architecture.md, "The built-in agent"), the way
/// agnhost netexec gives them: who answered and which client address it saw. Pure, so `servedBy` and `clientIP` are
/// evaluated on recorded observations. The texts themselves are read by `AgentResponses`,
/// next to the code that writes them.
enum AgentAnswer {
    /// The pod that answered: the `/hostname` body, the TCP greeting line, or the first word
    /// of the UDP answer `<pod> <client ip:port>`. Nil when there is no answer to read.
    static func server(of observation: ProbeObservation, action: ProbeAction) -> String? {
        switch action {
        case .http: observation.body.map(AgentResponses.value(ofLine:))
        case .tcp: observation.answer.map(AgentResponses.value(ofLine:))
        case .udp: observation.answer.flatMap { AgentResponses.fields(ofUDPReply: $0).pod }
        case .ping, .exec, .dns: nil
        }
    }

    /// The client address the server saw, without its port: from the `/clientip` body
    /// (`ip:port`) or the second word of the UDP answer. Nil when there is no answer to read.
    static func clientAddress(of observation: ProbeObservation, action: ProbeAction) -> String? {
        let peer: String? = switch action {
        case .http: observation.body.map(AgentResponses.value(ofLine:))
        case .udp: observation.answer.flatMap { AgentResponses.fields(ofUDPReply: $0).peer }
        case .ping, .tcp, .exec, .dns: nil
        }
        return peer.map(AgentResponses.host(ofPeer:))
    }
}
