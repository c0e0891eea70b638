/// Names: spelling (DNS labels) and uniqueness in each name space (docs/architecture.md,
/// "The lab file": pods, nodes and hosts share one; networks, services, containers, probes
/// each have their own).
extension LabFileValidator {
    func checkNames(_ d: inout Diagnostics) {
        if usable("name"), let problem = NameRules.labName(lab.name) {
            d.error("name", "the lab name \"\(lab.name)\" \(problem)")
        }
        for (i, network) in lab.networks.enumerated() { checkLabel(network.name, "network name", "networks[\(i)].name", &d) }
        for (i, node) in lab.nodes.enumerated() { checkLabel(node.name, "node name", "nodes[\(i)].name", &d) }
        for (i, host) in lab.hosts.enumerated() { checkLabel(host.name, "host name", "hosts[\(i)].name", &d) }
        for (i, pod) in lab.pods.enumerated() {
            checkLabel(pod.name, "pod name", "pods[\(i)].name", &d)
            checkLabel(pod.namespace, "namespace", "pods[\(i)].namespace", &d)
            for (j, container) in pod.containers.enumerated() {
                checkLabel(container.name, "container name", "pods[\(i)].containers[\(j)].name", &d)
            }
            checkUnique(pod.containers.enumerated().map { ($0.element.name, "pods[\(i)].containers[\($0.offset)].name") },
                        what: "container name", scope: " in pod \"\(pod.name)\"", &d)
        }
        for (i, service) in lab.services.enumerated() {
            checkLabel(service.name, "service name", "services[\(i)].name", &d)
            checkLabel(service.namespace, "namespace", "services[\(i)].namespace", &d)
        }

        checkUnique(lab.networks.enumerated().map { ($0.element.name, "networks[\($0.offset)].name") }, what: "network name", &d)
        checkSharedNameSpace(&d)
        for namespace in Set(lab.services.map(\.namespace)).sorted() {
            let services = lab.services.enumerated().filter { $0.element.namespace == namespace }
            checkUnique(services.map { ($0.element.name, "services[\($0.offset)].name") }, what: "service name",
                        scope: " in namespace \"\(namespace)\"", &d)
        }
        let named = lab.probes.enumerated().compactMap { i, probe in probe.name.map { ($0, "probes[\(i)].name") } }
        checkUnique(named, what: "probe name", &d)
    }

    func checkLabel(_ name: String, _ what: String, _ path: String, _ d: inout Diagnostics) {
        guard usable(path), let problem = NameRules.dnsLabel(name) else { return }
        d.error(path, "\(what) \"\(name)\" \(problem)")
    }

    /// Reports every repeat of a name after its first writing.
    func checkUnique(_ names: [(name: String, path: String)], what: String, scope: String = "", _ d: inout Diagnostics) {
        var first: [String: String] = [:]
        for (name, path) in names where usable(path) {
            if let earlier = first[name] {
                d.error(path, "duplicate \(what) \"\(name)\"\(scope): \(earlier) (\(d.line(of: earlier))) has it already")
            } else {
                first[name] = path
            }
        }
    }

    /// Pods, nodes and hosts share one name space (a bare reference must find one object), so a
    /// clash across kinds is reported as such, at whichever name comes later in the file.
    private func checkSharedNameSpace(_ d: inout Diagnostics) {
        var entries: [(kind: String, name: String, path: String)] = []
        entries += lab.nodes.enumerated().map { ("node", $0.element.name, "nodes[\($0.offset)].name") }
        entries += lab.pods.enumerated().map { ("pod", $0.element.name, "pods[\($0.offset)].name") }
        entries += lab.hosts.enumerated().map { ("host", $0.element.name, "hosts[\($0.offset)].name") }
        let map = lab.sourceMap
        entries.sort { lhs, rhs in
            let l = map.position(of: lhs.path), r = map.position(of: rhs.path)
            return (l.line, l.column) < (r.line, r.column)
        }
        var first: [String: (kind: String, path: String)] = [:]
        for entry in entries where usable(entry.path) {
            guard let earlier = first[entry.name] else {
                first[entry.name] = (entry.kind, entry.path)
                continue
            }
            if earlier.kind == entry.kind {
                d.error(entry.path, "duplicate \(entry.kind) name \"\(entry.name)\": \(earlier.path) (\(d.line(of: earlier.path))) has it already")
            } else {
                d.error(entry.path, "the \(entry.kind) name \"\(entry.name)\" is already the name of a \(earlier.kind) (\(earlier.path), \(d.line(of: earlier.path))); pods, nodes and hosts share one name space")
            }
        }
    }
}
