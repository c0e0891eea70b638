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
        // Entering a namespace is a thread's creation and a `setns`, mostly kernel work: two
        // threads enter the namespaces of 1,000 pods in about half the time of one (`lab up`
        // waits for this, with the other core idle).
        let work = batches.map { batch in (batch.namespace, batch.members.map { groups[$0.group][$0.member] }) }
        let results = ParallelWork.map(work, workers: openingThreads) { namespace, listeners in
            guard let namespace else { return openEach(listeners) }
            do {
                return try namespace.perform { openEach(listeners) }
            } catch {
                let code = (error as? KernelError)?.errno ?? EINVAL
                return listeners.map { .failure(AgentError(listener: $0, operation: "enter namespace", errno: code)) }
            }
        }
        for (batch, result) in zip(batches, results) {
            guard case .success(let opened) = result else { continue }
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

    /// Threads that open a batch's sockets at once: one per core, at most two (more only contend).
    static let openingThreads = max(1, min(2, sysconf(Int32(_SC_NPROCESSORS_ONLN))))

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
