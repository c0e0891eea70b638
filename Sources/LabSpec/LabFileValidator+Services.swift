import LabAddress

/// Services: ClusterIPs, ports, NodePorts and the settings that only make sense together.
extension LabFileValidator {
    func checkServices(_ d: inout Diagnostics) {
        var clusterIPs: [IPv4Address: (service: String, path: String)] = [:]
        var nodePorts: [String: (service: String, path: String)] = [:]
        for (i, service) in lab.services.enumerated() {
            let path = "services[\(i)]"
            guard usable(path) else { continue }
            if case .address(let ip) = service.clusterIP, usable("\(path).clusterIP") {
                let serviceCIDR = lab.cluster.serviceCIDR
                if usable("cluster.serviceCIDR") {
                    if !serviceCIDR.contains(ip) {
                        d.error("\(path).clusterIP", "\(ip) is outside cluster.serviceCIDR \(serviceCIDR)")
                    } else if ip == serviceCIDR.address || ip == serviceCIDR.broadcast {
                        let which = ip == serviceCIDR.address ? "network" : "broadcast"
                        d.error("\(path).clusterIP", "\(ip) is the \(which) address of cluster.serviceCIDR \(serviceCIDR)")
                    }
                }
                if let owner = clusterIPs[ip] {
                    d.error("\(path).clusterIP", "\(ip) is already the clusterIP of service \"\(owner.service)\" (\(owner.path), \(d.line(of: owner.path)))")
                } else {
                    clusterIPs[ip] = (service.name, "\(path).clusterIP")
                }
            }
            checkServicePorts(service, at: path, nodePorts: &nodePorts, &d)
            checkServiceSettings(service, at: path, &d)
            checkSelector(service, at: path, &d)
        }
    }

    private func checkServicePorts(_ service: ServiceSpec, at path: String,
                                   nodePorts: inout [String: (service: String, path: String)], _ d: inout Diagnostics) {
        if service.ports.isEmpty, service.type != .headless, usable("\(path).ports"), usable("\(path).type") {
            d.error(written("\(path).ports") ? "\(path).ports" : path,
                    "a \(service.type.rawValue) service needs at least one port, like \"ports: [{port: 80}]\"")
        }
        var slots: [String: String] = [:]
        var names: [String: String] = [:]
        for (k, port) in service.ports.enumerated() {
            let portPath = "\(path).ports[\(k)]"
            guard usable(portPath) else { continue }
            if usable("\(portPath).port") {
                let slot = "\(port.port)/\(port.protocol.rawValue)"
                if let first = slots[slot] {
                    d.error("\(portPath).port", "port \(slot) is already a port of this service (\(first), \(d.line(of: first)))")
                } else {
                    slots[slot] = "\(portPath).port"
                }
            }
            if let name = port.name, usable("\(portPath).name") {
                checkPortName(name, at: "\(portPath).name", names: &names, &d) { first, line in
                    "duplicate port name \"\(name)\": \(first) (\(line)) has it already"
                }
            }
            if case .name(let name) = port.targetPort, usable("\(portPath).targetPort"), let problem = NameRules.portName(name) {
                d.error("\(portPath).targetPort", "targetPort \"\(name)\" is neither a port number nor a valid port name: it \(problem)")
            }
            if let nodePort = port.nodePort, usable("\(portPath).nodePort") {
                let nodePortPath = "\(portPath).nodePort"
                if service.type != .nodePort {
                    d.error(nodePortPath, "nodePort is only for services of type NodePort (this one is \(service.type.rawValue))")
                } else {
                    let slot = "\(nodePort)/\(port.protocol.rawValue)"
                    if let owner = nodePorts[slot] {
                        d.error(nodePortPath, "nodePort \(slot) is already used by service \"\(owner.service)\" (\(owner.path), \(d.line(of: owner.path)))")
                    } else {
                        nodePorts[slot] = (service.name, nodePortPath)
                    }
                }
            }
        }
    }

    private func checkServiceSettings(_ service: ServiceSpec, at path: String, _ d: inout Diagnostics) {
        if service.externalTrafficPolicy == .local, service.type != .nodePort, usable("\(path).externalTrafficPolicy") {
            d.error("\(path).externalTrafficPolicy",
                    "externalTrafficPolicy Local is only for services of type NodePort (this one is \(service.type.rawValue))")
        }
        if written("\(path).sessionAffinityConfig"), service.sessionAffinity != .clientIP, usable("\(path).sessionAffinity") {
            d.keyError("\(path).sessionAffinityConfig", "sessionAffinityConfig needs sessionAffinity: ClientIP")
        }
    }

    /// A selector that matches no pod is legal (the service rejects connections) but usually a
    /// typo, so it is a warning, not an error.
    private func checkSelector(_ service: ServiceSpec, at path: String, _ d: inout Diagnostics) {
        let selectorPath = "\(path).selector"
        guard usable(selectorPath) else { return }
        checkLabels(service.selector, at: selectorPath, &d)
        if service.selector.isEmpty {
            d.warning(written(selectorPath) ? selectorPath : path,
                      "service \"\(service.name)\" has no selector, so it has no endpoints")
            return
        }
        let matches = lab.pods.contains { pod in
            pod.namespace == service.namespace && service.selector.allSatisfy { pod.labels[$0.key] == $0.value }
        }
        if !matches {
            d.warning(selectorPath, "selector \(Self.selectorText(service.selector)) matches no pod in namespace \"\(service.namespace)\", so service \"\(service.name)\" has no endpoints")
            return
        }
        checkNamedTargetPorts(service, at: path, &d)
    }

    /// A named `targetPort` that none of the selected pods declares (in a container's `ports:`,
    /// with the service port's protocol) leaves that port without endpoints: legal, as in
    /// Kubernetes, but almost always a typo, so a warning.
    private func checkNamedTargetPorts(_ service: ServiceSpec, at path: String, _ d: inout Diagnostics) {
        let pods = lab.pods.filter { pod in
            pod.namespace == service.namespace && service.selector.allSatisfy { pod.labels[$0.key] == $0.value }
        }
        for (k, port) in service.ports.enumerated() {
            guard case .name(let name) = port.targetPort, usable("\(path).ports[\(k)].targetPort") else { continue }
            let declared = pods.contains { pod in
                pod.containers.contains { $0.ports.contains { $0.name == name && $0.protocol == port.protocol } }
            }
            if !declared {
                let known = Set(pods.flatMap { $0.containers.flatMap { $0.ports.compactMap(\.name) } }).sorted()
                d.warning("\(path).ports[\(k)].targetPort",
                          "no pod of service \"\(service.name)\" declares a \(port.protocol.rawValue) port named \"\(name)\", so this port has no endpoints; declare it in a container's ports: [{name: \(name), containerPort: N}]\(EditDistance.hint(for: name, among: known))")
            }
        }
    }
}
