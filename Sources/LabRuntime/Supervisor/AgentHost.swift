import Foundation
import LabKernel
import LabPlan

/// The supervisor's side of the built-in agent: one `AgentServer` for every agent container of
/// the lab, its loop on one thread.
final class AgentHost: @unchecked Sendable {
    private let server: AgentServer
    private let thread: Thread

    private init(server: AgentServer) {
        self.server = server
        thread = Thread { server.run() }
        thread.name = "agents"
        thread.start()
    }

    /// Opens every agent port inside its pod's namespace and starts serving. A container whose
    /// port cannot be opened (taken by another container, say) is left out and reported in
    /// `failures` under `pod/container`; the others are served all the same.
    static func start(entries: [(PodTopology, ContainerTopology)], namespace: (PodTopology) throws -> NetworkNamespace,
                      failures: inout [String: String]) -> AgentHost? {
        var remaining = entries
        while !remaining.isEmpty {
            var listeners: [AgentListener] = []
            var owners: [String] = []
            for (pod, container) in remaining {
                let key = "\(pod.name)/\(container.name)"
                let handle: NetworkNamespace
                do {
                    handle = try namespace(pod)
                } catch {
                    failures[key] = "\(error)"
                    continue
                }
                let ports: [(AgentProtocol, Int)] = container.httpPorts.map { (.http, $0) } + container.tcpPorts.map { (.tcp, $0) }
                    + container.udpPorts.map { (.udp, $0) }
                for (proto, port) in ports {
                    listeners.append(AgentListener(pod: pod.name, protocol: proto, port: port, namespace: handle))
                    owners.append(key)
                }
            }
            remaining.removeAll { failures["\($0.0.name)/\($0.1.name)"] != nil }
            do {
                return AgentHost(server: try AgentServer(listeners: listeners))
            } catch let error as AgentError {
                // Leave out the container that owns the port and try the rest again.
                guard let index = listeners.firstIndex(where: { $0.pod == error.pod && $0.protocol == error.protocol && $0.port == error.port }) else {
                    for key in owners { failures[key] = "\(error)" }
                    return nil
                }
                failures[owners[index]] = "\(error)"
                remaining.removeAll { "\($0.0.name)/\($0.1.name)" == owners[index] }
            } catch {
                for key in owners { failures[key] = "\(error)" }
                return nil
            }
        }
        return nil
    }

    func stop() {
        server.stop()
        while !thread.isFinished { usleep(5_000) }
    }
}
