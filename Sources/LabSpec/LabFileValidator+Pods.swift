import LabAddress

/// Pods: their node, their address, their labels, and the ports their agents serve.
extension LabFileValidator {
    func checkPods(_ d: inout Diagnostics) {
        var taken: [IPv4Address: (pod: String, path: String)] = [:]
        for (i, pod) in lab.pods.enumerated() {
            let path = "pods[\(i)]"
            guard usable(path) else { continue }
            let node = checkPodNode(pod, at: path, &d)
            if let ip = pod.ip, usable("\(path).ip") {
                if let problem = podAddressProblem(ip, node: node) { d.error("\(path).ip", problem) }
                if let owner = taken[ip] {
                    d.error("\(path).ip", "\(ip) is already the address of pod \"\(owner.pod)\" (\(owner.path), \(d.line(of: owner.path)))")
                } else {
                    taken[ip] = (pod.name, "\(path).ip")
                }
            }
            checkLabels(pod.labels, at: "\(path).labels", &d)
            checkContainers(pod, at: path, &d)
        }
    }

    /// The node the pod names, reporting a name that is not a node.
    private func checkPodNode(_ pod: PodSpec, at path: String, _ d: inout Diagnostics) -> NodeSpec? {
        let nodePath = "\(path).node"
        guard usable(nodePath) else { return nil }
        if let index = index.nodes[pod.node] { return lab.nodes[index] }
        guard referencesResolvable else { return nil }
        let names = lab.nodes.map(\.name)
        switch index.resolve(Reference(kind: nil, name: pod.node)) {
        case .pod, .host:
            let kind = index.resolve(Reference(kind: nil, name: pod.node)).kind?.rawValue ?? "object"
            d.error(nodePath, "\"\(pod.node)\" is a \(kind), not a node (nodes: \(Self.list(names)))")
        default:
            let listed = names.isEmpty ? "the lab has no nodes" : "nodes: \(Self.list(names))"
            d.error(nodePath, "unknown node \"\(pod.node)\"\(EditDistance.hint(for: pod.node, among: names)) (\(listed))")
        }
        return nil
    }

    /// Why `ip` cannot be a pod address, if it cannot. With an explicit node podCIDR the pod
    /// must lie in it; otherwise the node's /24 (or longer) is only known after allocation, so
    /// we check the block the address falls in, and that no other node has claimed it.
    private func podAddressProblem(_ ip: IPv4Address, node: NodeSpec?) -> String? {
        let cluster = lab.cluster.podCIDR
        guard usable("cluster.podCIDR") else { return nil }
        if !cluster.contains(ip) { return "\(ip) is outside cluster.podCIDR \(cluster)" }
        let block: IPv4Network
        if let node, let explicit = node.podCIDR {
            guard explicit.contains(ip) else { return "\(ip) is outside the podCIDR \(explicit) of node \"\(node.name)\"" }
            block = explicit
        } else {
            if let other = lab.nodes.first(where: { $0.podCIDR?.contains(ip) ?? false }), let node, other.name != node.name {
                return "\(ip) lies in the podCIDR \(other.podCIDR.map(\.description) ?? "") of node \"\(other.name)\", but the pod runs on node \"\(node.name)\""
            }
            block = IPv4Network(containing: ip, prefixLength: max(24, cluster.prefixLength))
        }
        if ip == block.address { return "\(ip) is the network address of podCIDR \(block)" }
        if ip == block.host(1) { return "\(ip) is the first address of podCIDR \(block), which the node's cni0 bridge holds" }
        if ip == block.broadcast { return "\(ip) is the broadcast address of podCIDR \(block)" }
        return nil
    }

    func checkLabels(_ labels: [String: String], at path: String, _ d: inout Diagnostics) {
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            let labelPath = "\(path).\(key)"
            guard usable(labelPath) else { continue }
            if let problem = NameRules.labelKey(key) {
                d.keyError(labelPath, "label key \"\(key)\" \(problem)")
            } else if let problem = NameRules.labelValue(value) {
                d.error(labelPath, "label value \"\(value)\" \(problem)")
            }
        }
    }

    /// Environment names, and the agent ports: one (protocol, port) per pod, because the
    /// containers share the pod's network namespace (http and tcp are both TCP).
    private func checkContainers(_ pod: PodSpec, at path: String, _ d: inout Diagnostics) {
        var served: [String: (container: String, path: String)] = [:]
        var names: [String: String] = [:], numbers: [String: String] = [:]
        for (j, container) in pod.containers.enumerated() {
            let containerPath = "\(path).containers[\(j)]"
            for key in container.env.keys.sorted() {
                if let problem = NameRules.environmentName(key) {
                    d.keyError("\(containerPath).env.\(key)", "\"\(key)\" \(problem)")
                }
            }
            checkContainerPorts(container, at: containerPath, pod: pod, podPath: path, names: &names, numbers: &numbers, &d)
            guard case .agent(let agent) = container.runtime else { continue }
            for kind in AgentPort.Kind.allCases {
                let listPath = "\(containerPath).agent.\(kind.rawValue)"
                let proto = kind.transport.rawValue
                guard usable(listPath) else { continue }
                for (k, port) in agent.ports(kind).enumerated() {
                    let portPath = "\(listPath)[\(k)]"
                    let slot = "\(proto)/\(port)"
                    if let owner = served[slot] {
                        let shortOwner = String(owner.path.dropFirst(path.count + 1))
                        d.error(portPath, "\(proto) port \(port) is already served in pod \"\(pod.name)\" by container \"\(owner.container)\" (\(shortOwner), \(d.line(of: owner.path)))")
                    } else {
                        served[slot] = (container.name, portPath)
                    }
                }
            }
        }
    }

    /// A container's named ports: valid names (IANA service names, as Kubernetes wants them),
    /// each name and each protocol/number once per pod, since a service's named `targetPort`
    /// is looked up in the whole pod.
    private func checkContainerPorts(_ container: ContainerSpec, at containerPath: String, pod: PodSpec, podPath: String,
                                     names: inout [String: String], numbers: inout [String: String], _ d: inout Diagnostics) {
        for (k, port) in container.ports.enumerated() {
            let portPath = "\(containerPath).ports[\(k)]"
            guard usable(portPath) else { continue }
            if let name = port.name, usable("\(portPath).name") {
                checkPortName(name, at: "\(portPath).name", names: &names, &d) { owner, line in
                    "port name \"\(name)\" is already used in pod \"\(pod.name)\" (\(owner.dropFirst(podPath.count + 1)), \(line))"
                }
            }
            let slot = "\(port.protocol.rawValue)/\(port.containerPort)"
            if usable("\(portPath).containerPort") {
                if let owner = numbers[slot] {
                    d.error("\(portPath).containerPort", "\(port.protocol.rawValue) port \(port.containerPort) is already declared in pod \"\(pod.name)\" (\(owner.dropFirst(podPath.count + 1)), \(d.line(of: owner)))")
                } else {
                    numbers[slot] = "\(portPath).containerPort"
                }
            }
        }
    }

    /// A port's name: valid (an IANA service name, as Kubernetes wants it) and not yet in
    /// `names` (name → the path that has it), where it is then claimed; `taken` words the
    /// error from the first path and its line.
    func checkPortName(_ name: String, at path: String, names: inout [String: String], _ d: inout Diagnostics,
                       taken: (_ first: String, _ line: String) -> String) {
        if let problem = NameRules.portName(name) {
            d.error(path, "port name \"\(name)\" \(problem)")
        } else if let first = names[name] {
            d.error(path, taken(first, d.line(of: first)))
        } else {
            names[name] = path
        }
    }
}
