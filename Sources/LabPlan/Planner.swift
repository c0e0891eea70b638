import LabAddress
import LabSpec

/// Turns a topology into the plan that builds it (docs/architecture.md, "From a lab file to
/// kernel objects", step 3). Pure.
public enum Planner {
    public static func plan(_ topology: Topology) -> Plan {
        var ops: [KernelOperation] = []

        // 1. Every namespace, then its sysctls, set explicitly so nothing is inherited by accident
        //    (a new netns copies IPv4 conf/all and conf/default from the root namespace).
        for namespace in topology.allNetns { ops.append(.createNetns(namespace)) }
        ops += sysctls(topology.fabricNetns, forwarding: true, bridgeNetfilter: false)
        for node in topology.nodes { ops += sysctls(node.netns, forwarding: true, bridgeNetfilter: true) }
        for host in topology.hosts { ops += sysctls(host.netns, forwarding: false, bridgeNetfilter: nil) }
        for pod in topology.pods { ops += sysctls(pod.netns, forwarding: false, bridgeNetfilter: nil, linkLocal: .perLink) }
        for namespace in topology.allNetns { ops.append(.setUp(netns: namespace, link: "lo")) }

        // 2. The fabric: one bridge per underlay network holding that network's gateway address.
        let fabric = topology.fabricNetns
        for network in topology.networks {
            ops.append(.addBridge(netns: fabric, name: network.bridge, mac: network.bridgeMAC, mtu: topology.mtu))
            ops.append(.addAddress(netns: fabric, link: network.bridge, address: network.gateway,
                                   prefixLength: network.cidr.prefixLength))
        }

        // 3. Nodes and hosts: eth0 created in place with its peer already in the fabric,
        //    then plugged into the network's bridge.
        for node in topology.nodes {
            ops += uplink(node, in: topology)
            ops.append(.addBridge(netns: node.netns, name: Naming.podBridge, mac: node.bridgeMAC, mtu: topology.podMTU))
            ops.append(.addAddress(netns: node.netns, link: Naming.podBridge, address: node.bridgeAddress,
                                   prefixLength: node.podCIDR.prefixLength))
        }
        for host in topology.hosts { ops += uplink(host, in: topology) }

        // 4. Pods, as the CNI bridge plugin wires them: the node-side veth is a hairpin port of
        //    cni0 (created as its port, up; hairpin can only be set once it is one). A pod's one
        //    link, `eth0`, is created down (as a veth peer), so it gets its IPv6 address mode
        //    (none: see `sysctls`) before it comes up, in the datagram that brings it up,
        //    instead of a sysctl write per pod while namespaces are created.
        for pod in topology.pods {
            let veth = pod.veth
            ops.append(.addVeth(veth, master: Naming.podBridge))
            ops.append(.setHairpin(netns: veth.netns, link: veth.name))
            ops.append(.addAddress(netns: pod.netns, link: Naming.podInterface, address: pod.ip,
                                   prefixLength: pod.prefixLength))
            ops.append(.setAddrGenModeNone(netns: pod.netns, link: Naming.podInterface))
            ops.append(.setUp(netns: pod.netns, link: Naming.podInterface))
            ops.append(.addRoute(netns: pod.netns, destination: defaultRoute, gateway: pod.gateway,
                                 device: Naming.podInterface, onlink: false))
        }

        // 5. Routes: defaults via the gateway, then the pod network.
        for machine in topology.machines {
            ops.append(.addRoute(netns: machine.netns, destination: defaultRoute, gateway: machine.gateway,
                                 device: Naming.uplink, onlink: false))
        }
        switch topology.mode {
        case .routed: ops += routedPodRoutes(topology)
        case .vxlan: ops += overlay(topology)
        }
        ops += permanentNeighbours(topology)
        ops += ImpairmentPlan.qdiscs(topology)
        ops += ImpairmentPlan.withLossRules(serviceRules(topology), topology)

        return Plan(lab: topology.lab, operations: ops)
    }

    static let defaultRoute = IPv4Network("0.0.0.0/0")!

    /// Host-gw style routing: a node reaches another node's pods via that node when they share a
    /// network, else via the gateway; the fabric (the top-of-rack router) knows every podCIDR,
    /// as BGP would have taught it.
    static func routedPodRoutes(_ topology: Topology) -> [KernelOperation] {
        var ops: [KernelOperation] = []
        for node in topology.nodes {
            for other in topology.nodes where other.name != node.name {
                let via = other.network == node.network ? other.ip : node.gateway
                ops.append(.addRoute(netns: node.netns, destination: other.podCIDR, gateway: via,
                                     device: Naming.uplink, onlink: false))
            }
        }
        for node in topology.nodes {
            ops.append(.addRoute(netns: topology.fabricNetns, destination: node.podCIDR, gateway: node.ip,
                                 device: bridge(of: node.network, in: topology), onlink: false))
        }
        return ops
    }

    /// flannel's VXLAN backend: one `flannel.1` per node (VNI 1, UDP 8472, no learning, the
    /// podCIDR's network address as a /32), and per remote node the three entries flanneld
    /// writes — a permanent neighbour for the remote `.0`, an FDB entry sending that MAC to the
    /// remote node IP, and an onlink route for the remote podCIDR via its `.0`. The underlay
    /// sees only UDP between node IPs; the fabric needs no pod route.
    static func overlay(_ topology: Topology) -> [KernelOperation] {
        var ops: [KernelOperation] = []
        let device = Naming.vxlanDevice
        for node in topology.nodes {
            ops.append(.addVxlan(netns: node.netns, name: device, vni: 1, port: 8472, local: node.ip,
                                 device: Naming.uplink, mac: node.vtepMAC, mtu: topology.podMTU))
            ops.append(.addAddress(netns: node.netns, link: device, address: node.podCIDR.address, prefixLength: 32))
            for remote in topology.nodes where remote.name != node.name {
                ops.append(.addNeighbor(netns: node.netns, link: device, address: remote.podCIDR.address, mac: remote.vtepMAC))
                ops.append(.addForwardingEntry(netns: node.netns, link: device, mac: remote.vtepMAC, destination: remote.ip))
                ops.append(.addRoute(netns: node.netns, destination: remote.podCIDR, gateway: remote.podCIDR.address,
                                     device: device, onlink: true))
            }
        }
        return ops
    }

    /// `cluster.neighbours: static`: a permanent entry for every on-link peer the lab knows
    /// (`NeighbourEntries`), so no namespace resolves with ARP and none of them takes a slot of
    /// the host's shared neighbour table — the kernel does not count permanent entries against
    /// its limits. Each namespace's entries are consecutive, so they are sent together.
    static func permanentNeighbours(_ topology: Topology) -> [KernelOperation] {
        guard topology.neighbours == .static else { return [] }
        return NeighbourEntries.all(in: topology).map {
            .addNeighbor(netns: $0.netns, link: $0.link, address: $0.address, mac: $0.mac)
        }
    }

    /// kube-proxy's rules for every node, when the lab has services with a ClusterIP or
    /// NetworkPolicies: the iptables layout loaded by `iptables-restore --noflush` (hooks
    /// included, since a lab node starts with empty tables) with the policy chains in the same
    /// filter table, after the ipsets they match; or the `ip kube-proxy` nftables table in one
    /// `nft -f`, with NetworkPolicy's own table in the same input.
    ///
    /// `nodes`: only these nodes' rules (nil: every node's).
    /// `shared`: what every node's rules share, when the caller has it.
    static func serviceRules(_ topology: Topology, nodes: Set<String>? = nil, shared: SharedNodeRules? = nil) -> [KernelOperation] {
        let policies = topology.policy != nil
        guard policies || topology.services.contains(where: { $0.clusterIP != nil }) else { return [] }
        let shared = shared ?? SharedNodeRules(topology: topology, renderingFewNodes: nodes != nil)
        return topology.nodes.filter { nodes?.contains($0.name) ?? true }.flatMap { node -> [KernelOperation] in
            switch topology.proxy {
            case .iptables:
                let rendered = IPTablesRules.renderWithPolicies(node: node, options: IPTablesRules.Options(hooksInBuffer: true),
                                                                shared: shared)
                let sets = rendered.sets.flatMap { $0.isEmpty ? nil : $0 }.map { [KernelOperation.loadFirewall(netns: node.netns, loader: .ipset, rules: $0)] } ?? []
                return sets + [.loadFirewall(netns: node.netns, loader: .iptablesRestore, rules: rendered.rules)]
            case .nftables:
                let rules = NFTablesRules.render(node: node, shared: shared)
                    + (shared.policyLayout(of: node).map { NetworkPolicyNFTables.render($0, topology: topology) } ?? "")
                return [.loadFirewall(netns: node.netns, loader: .nft, rules: rules)]
            }
        }
    }

    /// The firewall loads of the plan of `topology` into the namespaces of `nodes`, exactly as
    /// the whole plan has them (loss rules included) and in its order, without planning the
    /// rest: what a change of NetworkPolicies needs of the old and the new lab.
    public static func firewallLoads(_ topology: Topology, nodes: Set<String>) -> [KernelOperation] {
        firewallLoads(topology, nodes: nodes, shared: SharedNodeRules(topology: topology, renderingFewNodes: true))
    }

    static func firewallLoads(_ topology: Topology, nodes: Set<String>, shared: SharedNodeRules) -> [KernelOperation] {
        let namespaces = Set(topology.nodes.filter { nodes.contains($0.name) }.map(\.netns))
        return ImpairmentPlan.withLossRules(serviceRules(topology, nodes: nodes, shared: shared), topology).filter { operation in
            if case .loadFirewall(let namespace, _, _) = operation { return namespaces.contains(namespace) }
            return false
        }
    }

    static func uplink(_ machine: any UnderlayMachine, in topology: Topology) -> [KernelOperation] {
        let pair = machine.uplink
        // `eth0` is created up; its peer is set up and plugged into the network's bridge on its
        // own, since the kernel can do neither as it creates a peer.
        return [
            .addVeth(pair),
            .setMaster(netns: pair.peerNetns, link: pair.peerName, master: bridge(of: machine.network, in: topology)),
            .setUp(netns: pair.peerNetns, link: pair.peerName),
            .addAddress(netns: pair.netns, link: pair.name, address: machine.ip, prefixLength: machine.prefixLength),
        ]
    }

    static func bridge(of network: String, in topology: Topology) -> String {
        topology.network(named: network)?.bridge ?? network
    }

    /// `bridgeNetfilter`: true/false sets br_netfilter's per-namespace switch (on in nodes so
    /// bridged pod traffic meets the service rules, off in the fabric so the underlay is a plain
    /// switch); nil leaves it alone where no bridge exists.
    ///
    /// `addr_gen_mode=1` (none), written before any link of the namespace exists: its links get
    /// no IPv6 link-local address, so bringing one up sends no duplicate address detection,
    /// router solicitation or MLD report. Otherwise every new pod's traffic is flooded by its
    /// node's `cni0` to every other port, which makes each pod cost more the more pods share the
    /// bridge (about 1 s of a 1,000-pod `up`). The labs are IPv4-only; IPv6 stays enabled (`::1`
    /// on `lo`, addresses can be added by hand). The kernel refuses the mode in the request
    /// that creates a link, and nodes, hosts and the fabric create links up, hence the
    /// namespace's default; a pod's only link is a veth peer, created down, which gets the mode
    /// on its own (`linkLocal: .perLink`) before it comes up — one request in a datagram sent
    /// anyway rather than a sysctl write per pod, which costs more the more namespaces the host
    /// has, and takes the rtnl lock.
    static func sysctls(_ namespace: String, forwarding: Bool, bridgeNetfilter: Bool?,
                        linkLocal: LinkLocalSetting = .namespaceDefault) -> [KernelOperation] {
        var settings: [(String, String)] = [
            ("net.ipv4.ip_forward", forwarding ? "1" : "0"),
            ("net.ipv4.conf.all.rp_filter", "0"),
            ("net.ipv4.conf.default.rp_filter", "0"),
        ]
        if linkLocal == .namespaceDefault {
            settings.append(("net.ipv6.conf.default.addr_gen_mode", "1"))
        }
        if let bridgeNetfilter {
            settings.append(("net.bridge.bridge-nf-call-iptables", bridgeNetfilter ? "1" : "0"))
        }
        return settings.map { .setSysctl(netns: namespace, key: $0.0, value: $0.1) }
    }
}
