import Glibc
import LabKernel

/// Opens groups of agent listeners, entering each network namespace once: the cost of a
/// namespace is a thread (`NetworkNamespace.perform`), so a pod's ports share it, and so do
/// the ports of several containers of one pod.
enum AgentSocketOpener {
    typealias Port = AgentPortRegistry.Port

    /// Each group is all or nothing and keeps its order; a failed group reports the error of its
    /// first listener that failed and leaves nothing open.
    static func open(_ groups: [[AgentListener]]) -> [Result<[Port], AgentError>] {
        // Every listener as (group, member), gathered by namespace in first-seen order.
        var batches: [(namespace: NetworkNamespace?, members: [(group: Int, member: Int)])] = []
        var batchOf: [ObjectIdentifier?: Int] = [:]
        for (group, listeners) in groups.enumerated() {
            for (member, listener) in listeners.enumerated() {
                let key = listener.netns.map(ObjectIdentifier.init)
                if let batch = batchOf[key] {
                    batches[batch].members.append((group, member))
                } else {
                    batchOf[key] = batches.count
                    batches.append((listener.netns, [(group, member)]))
                }
            }
        }
        var outcomes = groups.map { [Result<Port, AgentError>?](repeating: nil, count: $0.count) }
        for batch in batches {
            let listeners = batch.members.map { groups[$0.group][$0.member] }
            let opened: [Result<Port, AgentError>]
            if let namespace = batch.namespace {
                do {
                    opened = try namespace.perform { openEach(listeners) }
                } catch {
                    let code = (error as? KernelError)?.errno ?? EINVAL
                    opened = listeners.map { .failure(AgentError(listener: $0, operation: "enter namespace", errno: code)) }
                }
            } else {
                opened = openEach(listeners)
            }
            for (slot, outcome) in zip(batch.members, opened) { outcomes[slot.group][slot.member] = outcome }
        }
        return outcomes.map { members in
            var ports: [Port] = []
            var failure: AgentError?
            for outcome in members {
                switch outcome! {
                case .success(let port): ports.append(port)
                case .failure(let error): failure = failure ?? error
                }
            }
            guard let failure else { return .success(ports) }
            ports.forEach { close($0.fd) }
            return .failure(failure)
        }
    }

    /// Opens each listener in the calling thread's namespace, independently.
    private static func openEach(_ listeners: [AgentListener]) -> [Result<Port, AgentError>] {
        listeners.map { listener in
            do throws(AgentError) {
                let (fd, port) = try ListeningSocket.open(listener)
                return .success(Port(fd: fd, pod: listener.pod, protocol: listener.protocol, boundPort: port))
            } catch {
                return .failure(error)
            }
        }
    }
}
