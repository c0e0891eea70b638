import LabAddress
import LabSpec

extension TopologyBuild {
    /// Step 5: services, ClusterIPs from `cluster.serviceCIDR` in file order (`.1` upward),
    /// endpoints by selector; NodePort ports without a nodePort get the lowest free one from
    /// 30000. Explicit values are reserved first, then the running lab's kept.
    mutating func services(selecting pods: [PodTopology]) -> [ServiceTopology] {
        let specs = serviceSpecs
        var pools = ServicePools(file: file, specs: specs, previous: previous)
        var services: [ServiceTopology] = []
        // The pods by namespace and label, in file order: a selector is tried only on the pods
        // that have one of its labels (100 services over 1,000 pods were 100,000 tries).
        var podsByLabel: [String: [String: [PodTopology]]] = [:]
        for pod in pods {
            for (key, value) in pod.labels { podsByLabel[pod.namespace, default: [:]][key + "\u{0}" + value, default: []].append(pod) }
        }
        for (index, spec) in specs.enumerated() {
            let clusterIP = self.clusterIP(spec, index: index, pools: &pools)
            var ports = spec.ports.map(ServicePortTopology.init)
            if spec.type == .nodePort {
                for portIndex in ports.indices where ports[portIndex].nodePort == nil {
                    ports[portIndex].nodePort = pools.keptNodePorts[index]?[portIndex] ?? pools.nodePorts.next()
                    if ports[portIndex].nodePort == nil {
                        error("\(path("services", index)).ports[\(portIndex)]", "no free nodePort left in \(NodePortPool.range); name one explicitly")
                    }
                }
            }
            let endpoints = spec.selector.first.map { key, value in
                podsByLabel[spec.namespace]?[key + "\u{0}" + value, default: []].filter { pod in
                    spec.selector.allSatisfy { pod.labels[$0.key] == $0.value }
                } ?? []
            }?.map(\.name) ?? []
            services.append(ServiceTopology(
                name: spec.name, namespace: spec.namespace, type: spec.clusterIP == .none ? .headless : spec.type,
                clusterIP: clusterIP, ports: ports, endpoints: endpoints, sessionAffinity: spec.sessionAffinity,
                affinityTimeoutSeconds: spec.affinityTimeoutSeconds, externalTrafficPolicy: spec.externalTrafficPolicy))
        }
        return services
    }

    /// nil for a headless service, and (with the error recorded) when the serviceCIDR is full.
    private mutating func clusterIP(_ spec: ServiceSpec, index: Int, pools: inout ServicePools) -> IPv4Address? {
        switch spec.clusterIP {
        case .address(let ip): return ip
        case .none: return nil
        case .automatic:
            if spec.type == .headless { return nil }
            let ip = pools.keptClusterIPs[index] ?? pools.addresses.next(in: file.cluster.serviceCIDR, from: 1)
            if ip == nil {
                error(path("services", index), "cluster.serviceCIDR \(file.cluster.serviceCIDR) has no free address left")
            }
            return ip
        }
    }
}

/// ClusterIPs and nodePorts: explicit ones reserved, then what the running lab gave out to the
/// same service (and, for a nodePort, the same port) kept, by index in the file.
struct ServicePools {
    var addresses = AddressPool()
    var nodePorts = NodePortPool()
    var keptClusterIPs: [Int: IPv4Address] = [:]
    /// Service index → port index → nodePort.
    var keptNodePorts: [Int: [Int: Int]] = [:]

    init(file: LabFile, specs: [ServiceSpec], previous: Topology?) {
        for service in specs {
            if case .address(let ip) = service.clusterIP { addresses.reserve(ip) }
            for port in service.ports { if let nodePort = port.nodePort { nodePorts.reserve(nodePort) } }
        }
        for (index, spec) in specs.enumerated() {
            guard let old = previous?.services.first(where: { $0.name == spec.name && $0.namespace == spec.namespace })
            else { continue }
            if spec.clusterIP == .automatic, spec.type != .headless, let ip = old.clusterIP,
               file.cluster.serviceCIDR.usableHostRange?.contains(ip.value) == true, addresses.claim(ip) {
                keptClusterIPs[index] = ip
            }
            guard spec.type == .nodePort else { continue }
            for (portIndex, port) in spec.ports.enumerated() where port.nodePort == nil {
                let match = old.ports.first { $0.port == port.port && $0.protocol == port.protocol && $0.name == port.name }
                if let nodePort = match?.nodePort, nodePorts.claim(nodePort) { keptNodePorts[index, default: [:]][portIndex] = nodePort }
            }
        }
    }
}

extension ServicePortTopology {
    init(_ spec: ServicePortSpec) {
        self.init(name: spec.name, port: spec.port, targetPort: spec.targetPort, protocol: spec.protocol, nodePort: spec.nodePort)
    }
}
