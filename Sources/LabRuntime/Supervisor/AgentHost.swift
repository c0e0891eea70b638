import Foundation
import LabAgent
import LabKernel
import LabPlan
import LabSpec

/// The supervisor's side of the built-in agent: one `AgentServer` for every agent container of
/// the lab, its loop on one thread. Containers come and go with reloads; each one's ports are
/// opened and closed together.
final class AgentHost: @unchecked Sendable {
    /// One agent container to serve, with its pod's namespace opened by the caller (who also
    /// records which namespace that was).
    struct Request {
        var key: String
        var pod: PodTopology
        var container: ContainerTopology
        var netns: NetworkNamespace
    }

    private let server: AgentServer
    private let thread: Thread
    /// Signalled when the loop's thread has left `run`, so `stop` waits for that and no longer.
    private let finished = DispatchSemaphore(value: 0)

    init() throws {
        let server = try AgentServer(listeners: [])
        self.server = server
        let finished = finished
        thread = Thread {
            server.run()
            finished.signal()
        }
        thread.name = "agents"
        thread.start()
    }

    /// Opens every port of each container inside its pod's namespace and serves them. A
    /// container whose port cannot be had (taken by another container, say) gets the error and
    /// leaves nothing open; the others are served all the same.
    func open(_ requests: [Request]) -> [String: Result<[AgentPortID], AgentError>] {
        let groups = requests.map { request in
            let container = request.container
            return container.agentPorts.map {
                AgentListener(pod: request.pod.name, protocol: AgentProtocol($0.kind), port: $0.port, namespace: request.netns)
            }
        }
        let results = server.add(groups)
        return Dictionary(zip(requests.map(\.key), results), uniquingKeysWith: { first, _ in first })
    }

    /// Closes these ports and every connection they accepted before returning: an open socket
    /// keeps its namespace alive after `ip netns del`.
    func close(_ ports: [AgentPortID]) {
        server.remove(ports)
    }

    func stop() {
        server.stop()
        finished.wait()
        finished.signal()  // a second `stop` returns at once too
    }
}

extension AgentProtocol {
    init(_ kind: AgentPort.Kind) {
        switch kind {
        case .http: self = .http
        case .tcp: self = .tcp
        case .udp: self = .udp
        }
    }
}
