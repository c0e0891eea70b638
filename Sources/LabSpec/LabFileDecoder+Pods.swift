import Yams

/// Pods and their containers (`pods:`).
extension LabFileDecoder {
    static let podKeys = ["name", "namespace", "node", "ip", "labels", "containers", "link"]
    static let containerKeys = ["name", "agent", "command", "env", "restart", "ports"]
    static let containerPortKeys = ["name", "containerPort", "protocol"]
    static let agentKeys = ["http", "tcp", "udp"]

    static let portRange = 1...65535

    func pod(_ fields: YAMLFields) -> PodSpec {
        var pod = PodSpec(name: requiredString(fields, "name", "the pod's name") ?? "",
                          node: requiredString(fields, "node", "the node the pod runs on") ?? "")
        if let namespace = optionalString(fields, "namespace") { pod.namespace = namespace }
        if let value = fields["ip"] { pod.ip = reader.address(value, at: fields.path("ip")) }
        if let value = fields["labels"] { pod.labels = stringMap(value, at: fields.path("labels"), what: "label names to values") }
        if let value = fields["containers"] {
            pod.containers = elements(value, at: fields.path("containers"), of: "containers", keys: Self.containerKeys, container)
        }
        pod.link = link(fields)
        return pod
    }

    private func container(_ fields: YAMLFields) -> ContainerSpec {
        let name = requiredString(fields, "name", "the container's name") ?? ""
        var container = ContainerSpec(name: name, runtime: .command([]))
        switch (fields["agent"], fields["command"]) {
        case (let agent?, nil):
            container.runtime = .agent(self.agent(agent, at: fields.path("agent")))
        case (nil, let command?):
            let path = fields.path("command")
            if let argv = stringList(command, at: path, of: "arguments") {
                if argv.first?.isEmpty ?? true {
                    reader.fail(path, at: command, argv.isEmpty ? "a command needs at least the program to run, like [sleep, infinity]"
                                                               : "the program to run must not be empty")
                }
                container.runtime = .command(argv)
            }
        case (_?, _?):
            // Report at whichever of the two comes second in the file.
            let second = fields.entries.last { $0.key == "agent" || $0.key == "command" }
            reader.fail(second?.path ?? fields.path, at: second?.keyNode ?? fields.node ?? .init(""),
                        "a container runs either the built-in agent or a command, not both")
            reader.markFailed(YAMLPath.child(fields.path, "runtime"))
        case (nil, nil):
            if !reader.failedPaths.contains(fields.path) {
                let position = fields.node.map(reader.position(of:)) ?? reader.diagnostics.sourceMap.position(of: fields.path)
                reader.diagnostics.error(fields.path, at: position,
                                         "a container needs \"agent\" (the built-in test server) or \"command\" (a program to run)")
            }
            reader.markFailed(YAMLPath.child(fields.path, "runtime"))
        }
        if let value = fields["env"] { container.env = stringMap(value, at: fields.path("env"), what: "variable names to values") }
        if let value = fields["restart"], let policy: RestartPolicy = reader.choice(value, at: fields.path("restart"), what: "restart policy") {
            container.restart = policy
        }
        if let value = fields["ports"] {
            container.ports = elements(value, at: fields.path("ports"), of: "ports", keys: Self.containerPortKeys, containerPort)
        }
        return container
    }

    private func containerPort(_ fields: YAMLFields) -> ContainerPortSpec {
        let path = fields.path("containerPort")
        let number = required(fields, "containerPort", "the port number the container serves").flatMap {
            reader.int($0, at: path, in: Self.portRange, what: "containerPort")
        }
        var port = ContainerPortSpec(name: optionalString(fields, "name"), containerPort: number ?? 0)
        if let value = fields["protocol"], let proto: TransportProtocol = reader.choice(value, at: fields.path("protocol"), what: "protocol") {
            port.protocol = proto
        }
        return port
    }

    private func agent(_ node: Node, at path: String) -> AgentSpec {
        var agent = AgentSpec()
        guard let fields = reader.fields(node, at: path, allowed: Self.agentKeys) else { return agent }
        func ports(_ key: String) -> [Int] {
            guard let value = fields[key], let items = reader.list(value, at: fields.path(key), of: "port numbers") else { return [] }
            let ports = items.map { reader.int($0.node, at: $0.path, in: Self.portRange, what: "port") }
            // Positions of later checks are by index, so a list with a hole is not checked further.
            if ports.contains(where: { $0 == nil }) { reader.markFailed(fields.path(key)) }
            return ports.compactMap { $0 }
        }
        agent.http = ports("http")
        agent.tcp = ports("tcp")
        agent.udp = ports("udp")
        return agent
    }
}
