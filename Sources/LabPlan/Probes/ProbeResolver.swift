import LabAddress
import LabSpec

/// Turns the lab file's `probes:` into `ResolvedProbe`s against a built topology
/// (docs/architecture.md, "Probes").
/// Pure. The validator has already checked every reference, so a reference that does not
/// resolve here is skipped rather than reported twice.
public enum ProbeResolver {
    /// An endpoint of a probe: its display name, namespace (nil for a service or an address)
    /// and address.
    struct Endpoint {
        var display: String
        var netns: String?
        var address: IPv4Address?
    }

    /// Probes by name and `dns` probes ask the lab's cluster DNS; in a lab without one they are
    /// skipped, as the validator has said why.
    public static func resolve(_ file: LabFile, topology: Topology) -> [ResolvedProbe] {
        var probes: [ResolvedProbe] = []
        for (index, spec) in file.probes.enumerated() {
            if let matrix = spec.matrix {
                let group = spec.name ?? "matrix \(index + 1)"
                let sources = side(matrix.from, file: file, topology: topology)
                let targets = side(matrix.to, file: file, topology: topology)
                for source in sources {
                    for target in targets where target.display != source.display {
                        probes += make(spec, from: source, to: target, name: "\(group): \(source.display) → \(target.display)",
                                       group: group, file: file, topology: topology)
                    }
                }
                continue
            }
            guard let fromReference = spec.from, let source = endpoint(fromReference, file: file, topology: topology) else { continue }
            if case .exec = spec.kind {
                probes += make(spec, from: source, to: Endpoint(display: source.display, netns: nil, address: nil),
                               name: spec.name ?? "\(source.display) exec", group: nil, file: file, topology: topology)
                continue
            }
            if case .dns(let name, _) = spec.kind {
                probes += lookupProbe(spec, from: source, fromReference: fromReference, name: name, file: file, topology: topology)
                continue
            }
            guard let to = spec.to else { continue }
            switch to {
            case .name(let name):
                probes += lookupProbe(spec, from: source, fromReference: fromReference, name: name, file: file, topology: topology)
            case .address(let address):
                let target = Endpoint(display: address.description, netns: nil, address: address)
                probes += make(spec, from: source, to: target, name: spec.name ?? defaultName(spec, source, target), group: nil,
                               file: file, topology: topology)
            case .object(let reference):
                if case .service(let serviceIndex) = file.resolve(reference) {
                    probes += serviceProbes(spec, from: source, service: serviceIndex, file: file, topology: topology)
                } else if let target = endpoint(reference, file: file, topology: topology) {
                    probes += make(spec, from: source, to: target, name: spec.name ?? defaultName(spec, source, target), group: nil,
                                   file: file, topology: topology)
                }
            }
        }
        return PolicyReach.settle(probes, topology: topology)
    }

    /// A service means its ClusterIP and the probe's port; with `nodePort: true`, every node's
    /// IP and the port's nodePort (one probe per node).
    static func serviceProbes(_ spec: ProbeSpec, from source: Endpoint, service index: Int, file: LabFile,
                              topology: Topology) -> [ResolvedProbe] {
        let service = topology.services[index]
        let display = "service/\(service.name)"
        if spec.nodePort {
            guard let port = spec.kind.port, let nodePort = service.ports.first(where: { $0.port == port })?.nodePort else { return [] }
            var adjusted = spec
            adjusted.kind = spec.kind.withPort(nodePort)
            return topology.nodes.flatMap { node -> [ResolvedProbe] in
                let target = Endpoint(display: "\(display) via node/\(node.name):\(nodePort)", netns: nil, address: node.ip)
                let name = spec.name.map { "\($0) (node/\(node.name))" } ?? defaultName(adjusted, source, target)
                return make(adjusted, from: source, to: target, name: name, group: nil, file: file, topology: topology)
            }
        }
        guard let clusterIP = service.clusterIP else { return [] }
        let target = Endpoint(display: display, netns: nil, address: clusterIP)
        return make(spec, from: source, to: target, name: spec.name ?? defaultName(spec, source, target), group: nil,
                    file: file, topology: topology)
    }

    static func make(_ spec: ProbeSpec, from source: Endpoint, to target: Endpoint, name: String, group: String?,
                     file: LabFile, topology: Topology) -> [ResolvedProbe] {
        guard let namespace = source.netns else { return [] }
        let expect = ProbeExpectation(spec.expect,
                                      clientIP: spec.expect.clientIP.flatMap { clientAddress($0, file: file, topology: topology) }?.description)
        return [ResolvedProbe(name: name, group: group, from: source.display, to: target.display, fromNetns: namespace,
                              address: target.address, port: spec.kind.port, kind: spec.kind, expect: expect,
                              repeatCount: spec.repeatCount, timeoutMilliseconds: spec.timeoutMilliseconds, retries: spec.retries)]
    }

    /// A probe by name or a `dns` probe: from a pod, to the name as written; the address is
    /// known only once the pod's resolver has answered (a `dns` probe's own target is the
    /// nameserver, port 53).
    static func lookupProbe(_ spec: ProbeSpec, from source: Endpoint, fromReference: Reference, name: String, file: LabFile,
                            topology: Topology) -> [ResolvedProbe] {
        guard let dns = topology.dns, case .pod(let index) = file.resolve(fromReference) else { return [] }
        let lookup = ProbeLookup(name: name, namespace: topology.pods[index].namespace, domain: dns.domain, nameserver: dns.clusterIP)
        let isQuery: Bool
        if case .dns = spec.kind { isQuery = true } else { isQuery = false }
        let target = Endpoint(display: name, netns: nil, address: isQuery ? dns.clusterIP : nil)
        var probe = make(spec, from: source, to: target, name: spec.name ?? defaultName(spec, source, target), group: nil,
                         file: file, topology: topology)
        for index in probe.indices {
            probe[index].lookup = lookup
            if isQuery { probe[index].port = lookup.port }
        }
        return probe
    }

    static func defaultName(_ spec: ProbeSpec, _ source: Endpoint, _ target: Endpoint) -> String {
        if case .dns(_, let type) = spec.kind { return "\(source.display) → \(target.display) dns \(type.rawValue)" }
        let port = spec.kind.port.map { ":\($0)" } ?? ""
        return "\(source.display) → \(target.display)\(port) \(spec.kind.label)"
    }

    /// `clientIP: pod-a` (or node/host) means that object's address; a literal is itself.
    static func clientAddress(_ text: String, file: LabFile, topology: Topology) -> IPv4Address? {
        if let literal = IPv4Address(text) { return literal }
        guard let reference = Reference(text) else { return nil }
        return endpoint(reference, file: file, topology: topology)?.address
    }

    static func endpoint(_ reference: Reference, file: LabFile, topology: Topology) -> Endpoint? {
        switch file.resolve(reference) {
        case .pod(let index):
            let pod = topology.pods[index]
            return Endpoint(display: pod.name, netns: pod.netns, address: pod.ip)
        case .node(let index):
            let node = topology.nodes[index]
            return Endpoint(display: "node/\(node.name)", netns: node.netns, address: node.ip)
        case .host(let index):
            let host = topology.hosts[index]
            return Endpoint(display: "host/\(host.name)", netns: host.netns, address: host.ip)
        case .service, .ambiguous, .unknown:
            return nil
        }
    }

    static func side(_ side: MatrixSide, file: LabFile, topology: Topology) -> [Endpoint] {
        let pods: [PodTopology]
        switch side {
        case .allPods:
            // The file's pods: the DNS pod is the cluster's, not a workload of the file, and
            // is probed only when named (`coredns`) or selected (`k8s-app: kube-dns`).
            pods = topology.workloadPods
        case .selector(let selector):
            pods = topology.pods.filter { pod in selector.allSatisfy { pod.labels[$0.key] == $0.value } }
        case .names(let references):
            return references.compactMap { endpoint($0, file: file, topology: topology) }
        }
        return pods.map { Endpoint(display: $0.name, netns: $0.netns, address: $0.ip) }
    }
}
