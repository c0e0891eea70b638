import LabSpec

/// Settles every name and address of a validated lab file (raw → resolved, as containerlab
/// does before deploying). Allocation is in file order and skips every explicit address first,
/// so adding an explicit address never moves an allocated one onto it.
///
/// Throws `LabFileErrors` for what only allocation can find (a network or podCIDR that is full);
/// everything else was already checked by the validator.
///
/// `previous` is the topology of the lab as it is up: what it allocated is kept wherever the
/// file still allows it (a node's IP and podCIDR, a pod's IP on the same node, a service's
/// ClusterIP and nodePorts), as Kubernetes' allocators keep what they handed out. So adding a
/// pod in the middle of the file renumbers nothing, and `lab up` of the changed file touches
/// only what changed.
public enum TopologyBuilder {
    public static func build(_ file: LabFile, previous: Topology? = nil) throws -> Topology {
        var errors: [LabFileError] = []
        let lab = file.name
        let podMTU = file.cluster.network == .vxlan ? file.cluster.mtu - 50 : file.cluster.mtu
        let fabric = Naming.fabricNamespace(lab: lab)

        // 1. Networks and their bridges in the fabric.
        var fabricNames = InterfaceNameSet()
        let networks = file.networks.map { spec in
            let bridge = fabricNames.claim { Naming.networkBridge(lab: lab, network: spec.name, salt: $0) }
            return NetworkTopology(name: spec.name, cidr: spec.cidr, gateway: spec.cidr.host(1), bridge: bridge,
                                   bridgeMAC: Naming.mac(lab: lab, object: "network/\(spec.name)", interface: bridge))
        }
        let defaultNetwork = networks[0]
        func network(_ name: String?, path: String) -> NetworkTopology? {
            guard let name else { return defaultNetwork }
            if let found = networks.first(where: { $0.name == name }) { return found }
            errors.append(file.sourceMap.error(path, "unknown network \"\(name)\""))
            return nil
        }

        // 2. Underlay addresses: explicit ones first, then .2 upward for nodes, then hosts.
        var underlay = AddressPool()
        for network in networks { underlay.reserve(network.gateway) }
        for node in file.nodes { if let ip = node.ip { underlay.reserve(ip) } }
        for host in file.hosts { if let ip = host.ip { underlay.reserve(ip) } }
        // What the running lab gave out before anything new is handed out.
        var kept: [String: IPv4Address] = [:]
        let previousUnderlay = (previous?.nodes.map { ("node/\($0.name)", $0.network, $0.ip) } ?? [])
            + (previous?.hosts.map { ("host/\($0.name)", $0.network, $0.ip) } ?? [])
        let specUnderlay = file.nodes.map { ("node/\($0.name)", $0.network ?? defaultNetwork.name, $0.ip) }
            + file.hosts.map { ("host/\($0.name)", $0.network ?? defaultNetwork.name, $0.ip) }
        for (object, networkName, explicit) in specUnderlay where explicit == nil {
            guard let old = previousUnderlay.first(where: { $0.0 == object }), old.1 == networkName,
                  networks.first(where: { $0.name == networkName })?.cidr.usableHostRange?.contains(old.2.value) == true,
                  underlay.claim(old.2) else { continue }
            kept[object] = old.2
        }
        func underlayAddress(_ explicit: IPv4Address?, in network: NetworkTopology, path: String, object: String) -> IPv4Address? {
            if let explicit { return explicit }
            if let old = kept[object] { return old }
            if let next = underlay.next(in: network.cidr, from: 2) { return next }
            errors.append(file.sourceMap.error(path, "network \"\(network.name)\" (\(network.cidr)) has no free address left; use a larger cidr"))
            return nil
        }

        // 3. Node podCIDRs: the next free /24 (or the cluster prefix, if longer) of cluster.podCIDR.
        var podCIDRs = SubnetPool(parent: file.cluster.podCIDR, prefixLength: max(24, file.cluster.podCIDR.prefixLength))
        for node in file.nodes { if let cidr = node.podCIDR { podCIDRs.reserve(cidr) } }
        var keptPodCIDRs: [String: IPv4Network] = [:]
        for node in file.nodes where node.podCIDR == nil {
            if let old = previous?.node(named: node.name)?.podCIDR, podCIDRs.claim(old) { keptPodCIDRs[node.name] = old }
        }

        var nodes: [NodeTopology] = []
        for (index, spec) in file.nodes.enumerated() {
            guard let net = network(spec.network, path: "nodes[\(index)].network"),
                  let ip = underlayAddress(spec.ip, in: net, path: "nodes[\(index)]", object: "node/\(spec.name)") else { continue }
            guard let podCIDR = spec.podCIDR ?? keptPodCIDRs[spec.name] ?? podCIDRs.next() else {
                errors.append(file.sourceMap.error("nodes[\(index)]", "cluster.podCIDR \(file.cluster.podCIDR) has no free /\(podCIDRs.prefixLength) left for this node; use a larger cluster.podCIDR"))
                continue
            }
            let namespace = Naming.nodeNamespace(lab: lab, node: spec.name)
            let fabricPort = fabricNames.claim { Naming.nodePort(lab: lab, node: spec.name, salt: $0) }
            let object = "node/\(spec.name)"
            nodes.append(NodeTopology(
                name: spec.name, namespace: namespace, network: net.name, ip: ip, prefixLength: net.cidr.prefixLength,
                gateway: net.gateway, podCIDR: podCIDR, bridgeAddress: podCIDR.host(1),
                bridgeMAC: Naming.mac(lab: lab, object: object, interface: Naming.podBridge),
                vtepMAC: Naming.mac(lab: lab, object: object, interface: Naming.vxlanDevice),
                uplink: VethPair(namespace: namespace, name: Naming.uplink,
                                 mac: Naming.mac(lab: lab, object: object, interface: Naming.uplink),
                                 peerNamespace: fabric, peerName: fabricPort,
                                 peerMAC: Naming.mac(lab: lab, object: object, interface: fabricPort),
                                 mtu: file.cluster.mtu)))
        }

        var hosts: [HostTopology] = []
        for (index, spec) in file.hosts.enumerated() {
            guard let net = network(spec.network, path: "hosts[\(index)].network"),
                  let ip = underlayAddress(spec.ip, in: net, path: "hosts[\(index)]", object: "host/\(spec.name)") else { continue }
            let namespace = Naming.hostNamespace(lab: lab, host: spec.name)
            let fabricPort = fabricNames.claim { Naming.hostPort(lab: lab, host: spec.name, salt: $0) }
            let object = "host/\(spec.name)"
            hosts.append(HostTopology(
                name: spec.name, namespace: namespace, network: net.name, ip: ip, prefixLength: net.cidr.prefixLength,
                gateway: net.gateway,
                uplink: VethPair(namespace: namespace, name: Naming.uplink,
                                 mac: Naming.mac(lab: lab, object: object, interface: Naming.uplink),
                                 peerNamespace: fabric, peerName: fabricPort,
                                 peerMAC: Naming.mac(lab: lab, object: object, interface: fabricPort),
                                 mtu: file.cluster.mtu)))
        }

        // 4. Pods: .2 upward in their node's podCIDR (.1 is cni0), explicit addresses skipped.
        var podAddresses = AddressPool()
        for node in nodes { podAddresses.reserve(node.bridgeAddress) }
        for pod in file.pods { if let ip = pod.ip { podAddresses.reserve(ip) } }
        var keptPodIPs: [String: IPv4Address] = [:]
        for pod in file.pods where pod.ip == nil {
            guard let old = previous?.pod(named: pod.name), old.node == pod.node,
                  nodes.first(where: { $0.name == pod.node })?.podCIDR.usableHostRange?.contains(old.ip.value) == true,
                  podAddresses.claim(old.ip) else { continue }
            keptPodIPs[pod.name] = old.ip
        }
        var vethNames: [String: InterfaceNameSet] = [:]
        var pods: [PodTopology] = []
        for (index, spec) in file.pods.enumerated() {
            guard let node = nodes.first(where: { $0.name == spec.node }) else {
                errors.append(file.sourceMap.error("pods[\(index)].node", "unknown node \"\(spec.node)\""))
                continue
            }
            // The validator cannot check an explicit address against a podCIDR that is only
            // allocated here.
            if let explicit = spec.ip, !node.podCIDR.contains(explicit) {
                errors.append(file.sourceMap.error("pods[\(index)].ip", "\(explicit) is outside node \"\(node.name)\"'s podCIDR \(node.podCIDR); pick an address in it, or give the node an explicit podCIDR that holds this one"))
                continue
            }
            guard let ip = spec.ip ?? keptPodIPs[spec.name] ?? podAddresses.next(in: node.podCIDR, from: 2) else {
                errors.append(file.sourceMap.error("pods[\(index)]", "node \"\(node.name)\" podCIDR \(node.podCIDR) has no free address left; give the node a larger podCIDR"))
                continue
            }
            let namespace = Naming.podNamespace(lab: lab, pod: spec.name)
            let veth = vethNames[node.name, default: InterfaceNameSet(taken: [Naming.uplink, Naming.podBridge, "lo"])]
                .claiming { Naming.podVeth(lab: lab, pod: spec.name, salt: $0) }
            vethNames[node.name] = veth.set
            let object = "pod/\(spec.name)"
            pods.append(PodTopology(
                name: spec.name, kubernetesNamespace: spec.namespace, node: node.name, namespace: namespace, ip: ip,
                prefixLength: node.podCIDR.prefixLength, gateway: node.bridgeAddress, labels: spec.labels,
                veth: VethPair(namespace: node.namespace, name: veth.name,
                               mac: Naming.mac(lab: lab, object: object, interface: veth.name),
                               peerNamespace: namespace, peerName: Naming.podInterface,
                               peerMAC: Naming.mac(lab: lab, object: object, interface: Naming.podInterface),
                               mtu: podMTU),
                containers: spec.containers.map(ContainerTopology.init)))
        }

        // 5. Services: ClusterIPs from serviceCIDR in file order (.1 upward), endpoints by selector;
        //    NodePort ports without a nodePort get the lowest free one from 30000.
        var serviceAddresses = AddressPool()
        var nodePorts = NodePortPool()
        for service in file.services {
            if case .address(let ip) = service.clusterIP { serviceAddresses.reserve(ip) }
            for port in service.ports { if let nodePort = port.nodePort { nodePorts.reserve(nodePort) } }
        }
        func previousService(_ spec: ServiceSpec) -> ServiceTopology? {
            previous?.services.first { $0.name == spec.name && $0.kubernetesNamespace == spec.namespace }
        }
        var keptClusterIPs: [Int: IPv4Address] = [:]
        var keptNodePorts: [Int: [Int: Int]] = [:]
        for (index, spec) in file.services.enumerated() {
            guard let old = previousService(spec) else { continue }
            if spec.clusterIP == .automatic, spec.type != .headless, let ip = old.clusterIP,
               file.cluster.serviceCIDR.usableHostRange?.contains(ip.value) == true, serviceAddresses.claim(ip) {
                keptClusterIPs[index] = ip
            }
            guard spec.type == .nodePort else { continue }
            for (portIndex, port) in spec.ports.enumerated() where port.nodePort == nil {
                let match = old.ports.first { $0.port == port.port && $0.protocol == port.protocol.rawValue && $0.name == port.name }
                if let nodePort = match?.nodePort, nodePorts.claim(nodePort) { keptNodePorts[index, default: [:]][portIndex] = nodePort }
            }
        }
        var services: [ServiceTopology] = []
        for (index, spec) in file.services.enumerated() {
            var clusterIP: IPv4Address?
            switch spec.clusterIP {
            case .address(let ip): clusterIP = ip
            case .none: clusterIP = nil
            case .automatic:
                if spec.type == .headless { break }
                clusterIP = keptClusterIPs[index] ?? serviceAddresses.next(in: file.cluster.serviceCIDR, from: 1)
                if clusterIP == nil {
                    errors.append(file.sourceMap.error("services[\(index)]", "cluster.serviceCIDR \(file.cluster.serviceCIDR) has no free address left"))
                }
            }
            var ports = spec.ports.map(ServicePortTopology.init)
            if spec.type == .nodePort {
                for portIndex in ports.indices where ports[portIndex].nodePort == nil {
                    ports[portIndex].nodePort = keptNodePorts[index]?[portIndex] ?? nodePorts.next()
                    if ports[portIndex].nodePort == nil {
                        errors.append(file.sourceMap.error("services[\(index)].ports[\(portIndex)]", "no free nodePort left in \(NodePortPool.range); name one explicitly"))
                    }
                }
            }
            let endpoints = pods.filter { pod in
                pod.kubernetesNamespace == spec.namespace && !spec.selector.isEmpty
                    && spec.selector.allSatisfy { pod.labels[$0.key] == $0.value }
            }.map(\.name)
            services.append(ServiceTopology(
                name: spec.name, kubernetesNamespace: spec.namespace,
                type: spec.clusterIP == .none ? ServiceType.headless.rawValue : spec.type.rawValue,
                clusterIP: clusterIP, ports: ports, endpoints: endpoints,
                sessionAffinity: spec.sessionAffinity.rawValue, affinityTimeoutSeconds: spec.affinityTimeoutSeconds,
                externalTrafficPolicy: spec.externalTrafficPolicy.rawValue))
        }

        if !errors.isEmpty { throw LabFileErrors(errors) }
        // `auto` needs the host's neighbour table, which is the runtime's to read
        // (`NeighbourDecision`); until it has decided, the lab is planned as `arp`.
        let neighbours: NeighbourMode = file.cluster.neighbours == .static ? .static : .arp
        return Topology(lab: lab, mode: file.cluster.network, proxy: file.cluster.proxy, neighbours: neighbours,
                        neighbourSetting: file.cluster.neighbours, podCIDR: file.cluster.podCIDR,
                        serviceCIDR: file.cluster.serviceCIDR, mtu: file.cluster.mtu, podMTU: podMTU,
                        fabricNamespace: fabric, networks: networks, nodes: nodes, pods: pods, hosts: hosts,
                        services: services)
    }
}

extension ContainerTopology {
    init(_ spec: ContainerSpec) {
        switch spec.runtime {
        case .agent(let agent):
            self.init(name: spec.name, command: ["agent"], isAgent: true, httpPorts: agent.http, tcpPorts: agent.tcp,
                      udpPorts: agent.udp, env: spec.env, restart: spec.restart.rawValue)
        case .command(let argv):
            self.init(name: spec.name, command: argv, isAgent: false, httpPorts: [], tcpPorts: [], udpPorts: [],
                      env: spec.env, restart: spec.restart.rawValue)
        }
        ports = spec.ports.map { ContainerPortTopology(name: $0.name, port: $0.containerPort, protocol: $0.protocol.rawValue) }
    }
}

extension ServicePortTopology {
    init(_ spec: ServicePortSpec) {
        let target: String
        switch spec.targetPort {
        case .number(let number): target = String(number)
        case .name(let name): target = name
        }
        self.init(name: spec.name, port: spec.port, targetPort: target, protocol: spec.protocol.rawValue, nodePort: spec.nodePort)
    }
}
