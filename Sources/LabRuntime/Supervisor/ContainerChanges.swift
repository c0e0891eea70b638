import LabPlan

/// What a supervisor reload does to each container when `up` changes a running lab: the difference
/// between the containers it runs and a new topology, as keys `pod/container`. Pure, so every rule
/// is unit-tested without a kernel.
struct ContainerChanges: Equatable, Sendable {
    /// Same pod, same container, same namespace: left running (same pid, restart count kept).
    var kept: [String] = []
    /// Gone from the topology, or changed: stopped (and, if changed, in `started` too).
    var stopped: [String] = []
    /// New or changed, in topology order: started.
    var started: [String] = []

    var isEmpty: Bool { stopped.isEmpty && started.isEmpty }

    static func key(pod: String, container: String) -> String { "\(pod)/\(container)" }

    /// - Parameters:
    ///   - running: what the supervisor runs now, by key.
    ///   - desired: the new topology.
    ///   - replacedNamespaces: pod namespaces that are not the kernel object the container was
    ///     started in (deleted, or deleted and created again): their containers must restart.
    static func between(running: [String: (pod: PodTopology, container: ContainerTopology)], desired: Topology,
                        replacedNamespaces: Set<String>) -> ContainerChanges {
        var changes = ContainerChanges()
        var wanted = Set<String>()
        for pod in desired.pods {
            for container in pod.containers {
                let key = key(pod: pod.name, container: container.name)
                wanted.insert(key)
                guard let current = running[key] else {
                    changes.started.append(key)
                    continue
                }
                if current.container == container, sameRuntime(current.pod, pod), !replacedNamespaces.contains(pod.netns) {
                    changes.kept.append(key)
                } else {
                    changes.stopped.append(key)
                    changes.started.append(key)
                }
            }
        }
        changes.stopped += running.keys.filter { !wanted.contains($0) }.sorted()
        return changes
    }

    /// Whether a process started for pod `old` is right for pod `new`: everything it can see —
    /// its namespace, addresses, node, hostname — is the same. Labels only select the pod for
    /// services and are invisible to the process; the containers are compared one by one.
    static func sameRuntime(_ old: PodTopology, _ new: PodTopology) -> Bool {
        var old = old, new = new
        old.labels = [:]
        new.labels = [:]
        old.containers = []
        new.containers = []
        return old == new
    }
}
