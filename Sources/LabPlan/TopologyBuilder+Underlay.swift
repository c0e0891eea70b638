import LabAddress
import LabSpec

/// Underlay addresses: every explicit address and every gateway reserved first, then what the
/// running lab gave out kept, then `.2` upward, nodes before hosts, in file order.
struct UnderlayAddresses {
    private var pool = AddressPool()
    /// Addresses the running lab gave out that the file still allows, by `node/NAME`, `host/NAME`.
    private var kept: [String: IPv4Address] = [:]

    init(file: LabFile, networks: [NetworkTopology], previous: Topology?) {
        for network in networks { pool.reserve(network.gateway) }
        for machine in file.machines { if let ip = machine.ip { pool.reserve(ip) } }
        let defaultNetwork = networks[0].name
        let running = previous?.machines ?? []
        let wanted = file.machines.filter { $0.ip == nil }.map { ($0.object, $0.network ?? defaultNetwork) }
        for (object, network) in wanted {
            guard let old = running.first(where: { $0.object == object }), old.network == network,
                  networks.first(where: { $0.name == network })?.cidr.usableHostRange?.contains(old.ip.value) == true,
                  pool.claim(old.ip) else { continue }
            kept[object] = old.ip
        }
    }

    /// The address of `object` on `network`; nil when the network is full.
    mutating func address(_ explicit: IPv4Address?, on network: NetworkTopology, object: String) -> IPv4Address? {
        explicit ?? kept[object] ?? pool.next(in: network.cidr, from: 2)
    }
}

extension TopologyBuild {
    /// Step 2: nodes, each on its network with the next free /24 (or the cluster prefix, if
    /// longer) of `cluster.podCIDR`, unless the file or the running lab says which.
    mutating func nodes(networks: [NetworkTopology], underlay: inout UnderlayAddresses) -> [NodeTopology] {
        var podCIDRs = SubnetPool(parent: file.cluster.podCIDR, prefixLength: max(24, file.cluster.podCIDR.prefixLength))
        for node in file.nodes { if let cidr = node.podCIDR { podCIDRs.reserve(cidr) } }
        var keptPodCIDRs: [String: IPv4Network] = [:]
        for node in file.nodes where node.podCIDR == nil {
            if let old = previous?.node(named: node.name)?.podCIDR, podCIDRs.claim(old) { keptPodCIDRs[node.name] = old }
        }
        let lab = lab
        var nodes: [NodeTopology] = []
        let placed = machines(file.nodes, list: "nodes", networks: networks, underlay: &underlay,
                           netns: { Naming.nodeNetns(lab: lab, node: $0) }, fabricPort: { Naming.nodePort(lab: lab, node: $0, salt: $1) })
        for (index, spec, netns, attachment) in placed {
            guard let podCIDR = spec.podCIDR ?? keptPodCIDRs[spec.name] ?? podCIDRs.next() else {
                error("nodes[\(index)]", "cluster.podCIDR \(file.cluster.podCIDR) has no free /\(podCIDRs.prefixLength) left for this node; use a larger cluster.podCIDR")
                continue
            }
            nodes.append(NodeTopology(
                name: spec.name, netns: netns, underlay: attachment, podCIDR: podCIDR,
                bridgeAddress: podCIDR.host(1), bridgeMAC: Naming.mac(lab: lab, object: spec.object, interface: Naming.podBridge),
                vtepMAC: Naming.mac(lab: lab, object: spec.object, interface: Naming.vxlanDevice)))
        }
        return nodes
    }

    /// Step 3: hosts, each on its network.
    mutating func hosts(networks: [NetworkTopology], underlay: inout UnderlayAddresses) -> [HostTopology] {
        let lab = lab
        return machines(file.hosts, list: "hosts", networks: networks, underlay: &underlay,
                     netns: { Naming.hostNetns(lab: lab, host: $0) }, fabricPort: { Naming.hostPort(lab: lab, host: $0, salt: $1) })
            .map { HostTopology(name: $0.spec.name, netns: $0.netns, underlay: $0.attachment) }
    }

    /// The machines of one list of the file (`nodes`, `hosts`), each with its namespace and its
    /// `eth0` on its network; one that cannot be placed is left out, with the error recorded.
    private mutating func machines<Spec: UnderlayMachineSpec>(
        _ specs: [Spec], list: String, networks: [NetworkTopology], underlay: inout UnderlayAddresses,
        netns: (String) -> String, fabricPort: (String, Int) -> String
    ) -> [(index: Int, spec: Spec, netns: String, attachment: UnderlayAttachment)] {
        var placed: [(index: Int, spec: Spec, netns: String, attachment: UnderlayAttachment)] = []
        for (index, spec) in specs.enumerated() {
            guard let (network, ip) = place(spec.object, network: spec.network, ip: spec.ip, path: "\(list)[\(index)]",
                                            networks: networks, underlay: &underlay) else { continue }
            let machineNetns = netns(spec.name)
            let attachment = attach(spec.object, netns: machineNetns, network: network, ip: ip) { fabricPort(spec.name, $0) }
            placed.append((index, spec, machineNetns, attachment))
        }
        return placed
    }

    /// A node's or host's network (the first one when the file names none) and its address
    /// there; nil, with the error recorded, when the network is unknown or full.
    private mutating func place(_ object: String, network name: String?, ip explicit: IPv4Address?, path: String,
                                networks: [NetworkTopology], underlay: inout UnderlayAddresses) -> (NetworkTopology, IPv4Address)? {
        guard let network = name == nil ? networks.first : networks.first(where: { $0.name == name }) else {
            error("\(path).network", "unknown network \"\(name ?? "")\"")
            return nil
        }
        guard let ip = underlay.address(explicit, on: network, object: object) else {
            error(path, "network \"\(network.name)\" (\(network.cidr)) has no free address left; use a larger cidr")
            return nil
        }
        return (network, ip)
    }

    /// `eth0` of a node or host, its peer a port of the network's bridge in the fabric.
    private mutating func attach(_ object: String, netns: String, network: NetworkTopology, ip: IPv4Address,
                                 fabricPort: (Int) -> String) -> UnderlayAttachment {
        let port = fabricNames.claim(fabricPort)
        let uplink = VethPair(netns: netns, name: Naming.uplink,
                              mac: Naming.mac(lab: lab, object: object, interface: Naming.uplink),
                              peerNetns: fabric, peerName: port,
                              peerMAC: Naming.mac(lab: lab, object: object, interface: port),
                              mtu: file.cluster.mtu)
        return UnderlayAttachment(network: network.name, ip: ip, prefixLength: network.cidr.prefixLength,
                                  gateway: network.gateway, uplink: uplink)
    }
}
