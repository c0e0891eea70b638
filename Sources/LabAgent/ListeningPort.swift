/// A listening socket as the agent's event loop serves it: which pod answers, and where in the
/// poll set it sits (the loop keeps `slot` current; -1 once it is no longer served).
final class ListeningPort {
    let id: AgentPortID
    let fd: Int32
    let pod: String
    let `protocol`: AgentProtocol
    var slot = -1

    init(id: AgentPortID, fd: Int32, pod: String, protocol: AgentProtocol) {
        self.id = id
        self.fd = fd
        self.pod = pod
        self.protocol = `protocol`
    }
}
