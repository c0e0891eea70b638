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
        var build = TopologyBuild(file: file, previous: previous)
        let networks = build.networks()
        var underlay = UnderlayAddresses(file: file, networks: networks, previous: previous)
        let nodes = build.nodes(networks: networks, underlay: &underlay)
        let hosts = build.hosts(networks: networks, underlay: &underlay)
        let pods = build.pods(on: nodes)
        let services = build.services(selecting: pods)
        if !build.errors.isEmpty { throw LabFileErrors(build.errors) }
        var topology = build.topology(networks: networks, nodes: nodes, pods: pods, hosts: hosts, services: services)
        topology.dns = build.dns
        topology.impairments = ImpairedLink.all(file: file, nodes: nodes, hosts: hosts, pods: pods)
        return topology
    }
}

/// One run of `TopologyBuilder.build`: the file, the running lab's topology, the errors found so
/// far and the interface names taken in the fabric. Each step below reads alone; they run in the
/// order `build` calls them, which is the order names and addresses are handed out in.
struct TopologyBuild {
    let file: LabFile
    let previous: Topology?
    var errors: [LabFileError] = []
    /// The fabric's interfaces: network bridges first, then node ports, then host ports.
    var fabricNames = InterfaceNameSet()

    init(file: LabFile, previous: Topology?) {
        self.file = file
        self.previous = previous
    }

    var lab: String { file.name }
    var fabric: String { Naming.fabricNetns(lab: lab) }
    /// What pods, their veths and `cni0` get: the underlay MTU, minus VXLAN's 50 bytes.
    var podMTU: Int { file.cluster.network == .vxlan ? file.cluster.mtu - 50 : file.cluster.mtu }

    mutating func error(_ path: String, _ message: String) {
        errors.append(file.sourceMap.error(path, message))
    }

    /// The cluster DNS, when it is on and there is a node to run its pod.
    var dns: ClusterDNSTopology? {
        guard let spec = file.cluster.dns, !file.nodes.isEmpty else { return nil }
        return ClusterDNSTopology(domain: spec.domain, clusterIP: spec.clusterIP(in: file.cluster.serviceCIDR))
    }

    /// The file's pods, then the DNS pod: last, so it takes the first node's next free address
    /// after the file's pods and a lab's addresses stay those it had without DNS.
    var podSpecs: [PodSpec] {
        guard let dns, let node = file.nodes.first else { return file.pods }
        return file.pods + [PodSpec(name: dns.podName, namespace: dns.namespace, node: node.name,
                                    labels: ClusterDNSTopology.labels)]
    }

    /// The file's services, then kube-dns (its ClusterIP is explicit, so where it comes in the
    /// order moves no other service).
    var serviceSpecs: [ServiceSpec] {
        guard let dns else { return file.services }
        let ports = ClusterDNSTopology.ports.map { ServicePortSpec(name: $0.name, port: $0.port, protocol: $0.protocol) }
        return file.services + [ServiceSpec(name: dns.serviceName, namespace: dns.namespace, clusterIP: .address(dns.clusterIP),
                                            selector: ClusterDNSTopology.labels, ports: ports)]
    }

    /// Where a pod's or service's errors are reported: its place in the file, or `cluster.dns`
    /// for the DNS's own.
    func path(_ section: String, _ index: Int) -> String {
        let count = section == "pods" ? file.pods.count : file.services.count
        return index < count ? "\(section)[\(index)]" : "cluster.dns"
    }

    /// Step 1: the networks, each with its bridge in the fabric holding its `.1`.
    mutating func networks() -> [NetworkTopology] {
        let lab = lab
        return file.networks.map { spec in
            let bridge = fabricNames.claim { Naming.networkBridge(lab: lab, network: spec.name, salt: $0) }
            return NetworkTopology(name: spec.name, cidr: spec.cidr, gateway: spec.cidr.host(1), bridge: bridge,
                                   bridgeMAC: Naming.mac(lab: lab, object: "network/\(spec.name)", interface: bridge))
        }
    }

    /// The last step: the settled pieces with the cluster's settings.
    func topology(networks: [NetworkTopology], nodes: [NodeTopology], pods: [PodTopology], hosts: [HostTopology],
                  services: [ServiceTopology]) -> Topology {
        // `auto` needs the host's neighbour table, which is the runtime's to read
        // (`NeighbourDecision`); until it has decided, the lab is planned as `arp`.
        let neighbours: NeighbourMode = file.cluster.neighbours == .static ? .static : .arp
        return Topology(lab: lab, mode: file.cluster.network, proxy: file.cluster.proxy, neighbours: neighbours,
                        neighbourSetting: file.cluster.neighbours, podCIDR: file.cluster.podCIDR,
                        serviceCIDR: file.cluster.serviceCIDR, mtu: file.cluster.mtu, podMTU: podMTU,
                        fabricNetns: fabric, networks: networks, nodes: nodes, pods: pods, hosts: hosts,
                        services: services,
                        policy: file.networkPolicies.isEmpty ? nil
                            : PolicyTopology(namespaces: namespaces, policies: file.networkPolicies))
    }

    /// The file's Kubernetes namespaces, and the DNS's if the file does not use it.
    private var namespaces: [NamespaceSpec] {
        let all = file.allNamespaces
        guard let dns, !all.contains(where: { $0.name == dns.namespace }) else { return all }
        return all + [NamespaceSpec(name: dns.namespace)]
    }
}
