import LabAddress
import LabSpec

extension TopologyBuild {
    /// Step 4: pods, `.2` upward in their node's podCIDR (`.1` is `cni0`), explicit addresses
    /// and the running lab's skipped; each gets a veth whose node end is a port of `cni0`.
    mutating func pods(on nodes: [NodeTopology]) -> [PodTopology] {
        let specs = podSpecs
        var addresses = AddressPool()
        for node in nodes { addresses.reserve(node.bridgeAddress) }
        for pod in specs { if let ip = pod.ip { addresses.reserve(ip) } }
        var kept: [String: IPv4Address] = [:]
        let previousPods = previous?.podsByName ?? [:]
        for pod in specs where pod.ip == nil {
            guard let old = previousPods[pod.name], old.node == pod.node,
                  nodes.first(where: { $0.name == pod.node })?.podCIDR.usableHostRange?.contains(old.ip.value) == true,
                  addresses.claim(old.ip) else { continue }
            kept[pod.name] = old.ip
        }
        var vethNames: [String: InterfaceNameSet] = [:]
        var pods: [PodTopology] = []
        for (index, spec) in specs.enumerated() {
            guard let node = nodes.first(where: { $0.name == spec.node }) else {
                error("\(path("pods", index)).node", "unknown node \"\(spec.node)\"")
                continue
            }
            guard let ip = podAddress(spec, index: index, on: node, kept: kept[spec.name], pool: &addresses) else { continue }
            let veth = vethNames[node.name, default: InterfaceNameSet(taken: [Naming.uplink, Naming.podBridge, "lo"])]
                .claiming { Naming.podVeth(lab: lab, pod: spec.name, salt: $0) }
            vethNames[node.name] = veth.set
            var settled = pod(spec, ip: ip, on: node, veth: veth.name)
            if index >= file.pods.count { settled.containers = [.coreDNS] }
            pods.append(settled)
        }
        return pods
    }

    /// The pod's address in its node's podCIDR; nil, with the error recorded, when an explicit
    /// one lies outside it or the podCIDR is full.
    private mutating func podAddress(_ spec: PodSpec, index: Int, on node: NodeTopology, kept: IPv4Address?,
                                     pool: inout AddressPool) -> IPv4Address? {
        // The validator cannot check an explicit address against a podCIDR that is only
        // allocated here.
        if let explicit = spec.ip, !node.podCIDR.contains(explicit) {
            error("\(path("pods", index)).ip", "\(explicit) is outside node \"\(node.name)\"'s podCIDR \(node.podCIDR); pick an address in it, or give the node an explicit podCIDR that holds this one")
            return nil
        }
        guard let ip = spec.ip ?? kept ?? pool.next(in: node.podCIDR, from: 2) else {
            let what = index < file.pods.count ? "" : " for the cluster DNS pod \(spec.namespace)/\(spec.name)"
            error(path("pods", index), "node \"\(node.name)\" podCIDR \(node.podCIDR) has no free address left\(what); give the node a larger podCIDR")
            return nil
        }
        return ip
    }

    private func pod(_ spec: PodSpec, ip: IPv4Address, on node: NodeTopology, veth: String) -> PodTopology {
        let netns = Naming.podNetns(lab: lab, pod: spec.name)
        let object = "pod/\(spec.name)"
        return PodTopology(
            name: spec.name, namespace: spec.namespace, node: node.name, netns: netns, ip: ip,
            prefixLength: node.podCIDR.prefixLength, gateway: node.bridgeAddress, labels: spec.labels,
            veth: VethPair(netns: node.netns, name: veth,
                           mac: Naming.mac(lab: lab, object: object, interface: veth),
                           peerNetns: netns, peerName: Naming.podInterface,
                           peerMAC: Naming.mac(lab: lab, object: object, interface: Naming.podInterface),
                           mtu: podMTU),
            containers: spec.containers.map(ContainerTopology.init))
    }
}

extension ContainerTopology {
    /// The DNS pod's one container, with the ports kubeadm's CoreDNS manifest declares. The
    /// supervisor serves it: DNS on 53 (UDP and TCP) by its DNS server, and the metrics port by
    /// the built-in agent's HTTP (it answers as an agent does; there are no Prometheus metrics).
    static var coreDNS: ContainerTopology {
        ContainerTopology(name: ClusterDNSSpec.podName, command: [ClusterDNSSpec.podName], isAgent: true,
                          agentPorts: [AgentPort(.http, ClusterDNSTopology.metricsPort)], env: [:],
                          restart: .always,
                          ports: ClusterDNSTopology.ports.map { ContainerPortTopology(name: $0.name, port: $0.port, protocol: $0.protocol) })
    }

    init(_ spec: ContainerSpec) {
        switch spec.runtime {
        case .agent(let agent):
            self.init(name: spec.name, command: ["agent"], isAgent: true, agentPorts: agent.ports, env: spec.env,
                      restart: spec.restart)
        case .command(let argv):
            self.init(name: spec.name, command: argv, isAgent: false, agentPorts: [], env: spec.env, restart: spec.restart)
        }
        ports = spec.ports.map { ContainerPortTopology(name: $0.name, port: $0.containerPort, protocol: $0.protocol) }
    }
}
