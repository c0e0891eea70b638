/// What a `Reference` of a lab file names, once looked up.
public enum ReferenceResolution: Sendable, Hashable {
    /// Index into `LabFile.pods`.
    case pod(Int)
    case node(Int)
    case host(Int)
    /// Index into `LabFile.services`.
    case service(Int)
    /// A bare name that names more than one object (the kinds it names). Pods, nodes and hosts
    /// share one name space, so only a file that already has a clash gets here.
    case ambiguous([Reference.Kind])
    case unknown

    public var kind: Reference.Kind? {
        switch self {
        case .pod: return .pod
        case .node: return .node
        case .host: return .host
        case .service: return .service
        case .ambiguous, .unknown: return nil
        }
    }
}

extension LabFile {
    /// Looks a reference up (docs/architecture.md, "The lab file"): a bare name among pods, nodes
    /// and hosts; a qualified one in its kind only. `service/web` finds the service named `web`
    /// when one Kubernetes namespace has it, and `service/web.prod` picks namespace `prod`.
    public func resolve(_ reference: Reference) -> ReferenceResolution {
        ObjectIndex(self).resolve(reference)
    }
}

/// Names of the lab's objects, indexed once so resolving many references stays linear.
struct ObjectIndex {
    private(set) var pods: [String: Int] = [:]
    private(set) var nodes: [String: Int] = [:]
    private(set) var hosts: [String: Int] = [:]
    /// Service name → indices (one per Kubernetes namespace that has it).
    private(set) var services: [String: [Int]] = [:]
    private let serviceNamespaces: [String]

    init(_ lab: LabFile) {
        // The first of duplicate names wins, as the validator reports the later ones.
        for (index, pod) in lab.pods.enumerated() where pods[pod.name] == nil { pods[pod.name] = index }
        for (index, node) in lab.nodes.enumerated() where nodes[node.name] == nil { nodes[node.name] = index }
        for (index, host) in lab.hosts.enumerated() where hosts[host.name] == nil { hosts[host.name] = index }
        for (index, service) in lab.services.enumerated() { services[service.name, default: []].append(index) }
        serviceNamespaces = lab.services.map(\.namespace)
    }

    func resolve(_ reference: Reference) -> ReferenceResolution {
        let name = reference.name
        switch reference.kind {
        case .pod: return pods[name].map(ReferenceResolution.pod) ?? .unknown
        case .node: return nodes[name].map(ReferenceResolution.node) ?? .unknown
        case .host: return hosts[name].map(ReferenceResolution.host) ?? .unknown
        case .service: return resolveService(name)
        case nil:
            var found: [ReferenceResolution] = []
            if let index = pods[name] { found.append(.pod(index)) }
            if let index = nodes[name] { found.append(.node(index)) }
            if let index = hosts[name] { found.append(.host(index)) }
            if found.count > 1 { return .ambiguous(found.compactMap(\.kind)) }
            return found.first ?? .unknown
        }
    }

    private func resolveService(_ name: String) -> ReferenceResolution {
        if let candidates = services[name] {
            // Several namespaces with the same service name: the reference must say which.
            return candidates.count == 1 ? .service(candidates[0]) : .ambiguous([.service])
        }
        if let dot = name.firstIndex(of: ".") {
            let service = String(name[..<dot]), namespace = String(name[name.index(after: dot)...])
            if let index = services[service]?.first(where: { serviceNamespaces[$0] == namespace }) { return .service(index) }
        }
        return .unknown
    }

    /// Every name a reference of `kind` (nil: bare) could have meant, for "did you mean".
    func names(of kind: Reference.Kind?) -> [String] {
        switch kind {
        case .pod: return Array(pods.keys).sorted()
        case .node: return Array(nodes.keys).sorted()
        case .host: return Array(hosts.keys).sorted()
        case .service: return Array(services.keys).sorted()
        case nil: return (Array(pods.keys) + Array(nodes.keys) + Array(hosts.keys)).sorted()
        }
    }
}
