import LabAddress

/// Address plan: the cluster's ranges, underlay networks, node and host addresses and node
/// podCIDRs. Overlaps are errors because routing in the lab would silently pick one side.
extension LabFileValidator {
    /// Longest prefix for a segment or podCIDR: a /30 still has a gateway (or cni0) and one host.
    static let longestUsablePrefix = 30
    static let vxlanOverhead = 50

    func checkCluster(_ d: inout Diagnostics) {
        let cluster = lab.cluster
        for (key, cidr) in [("podCIDR", cluster.podCIDR), ("serviceCIDR", cluster.serviceCIDR)] {
            let path = "cluster.\(key)"
            if usable(path), cidr.prefixLength > Self.longestUsablePrefix {
                d.error(path, "\(key) \(cidr) is too small; use a prefix of /\(Self.longestUsablePrefix) or shorter")
            }
        }
        if usable("cluster.podCIDR"), usable("cluster.serviceCIDR"), cluster.podCIDR.overlaps(cluster.serviceCIDR) {
            let path = written("cluster.serviceCIDR") ? "cluster.serviceCIDR" : "cluster.podCIDR"
            d.error(path, "cluster.podCIDR \(cluster.podCIDR) and cluster.serviceCIDR \(cluster.serviceCIDR) overlap")
        }
        if cluster.network == .vxlan, usable("cluster.mtu"), usable("cluster.network"),
           cluster.mtu - Self.vxlanOverhead < LabFileDecoder.mtuRange.lowerBound {
            let path = written("cluster.mtu") ? "cluster.mtu" : "cluster.network"
            d.error(path, "mtu \(cluster.mtu) leaves pods \(cluster.mtu - Self.vxlanOverhead) with vxlan (50 bytes of overlay headers); use at least \(LabFileDecoder.mtuRange.lowerBound + Self.vxlanOverhead)")
        }
    }

    func checkNetworks(_ d: inout Diagnostics) {
        // Without `networks:` the default network is not written anywhere; its conflicts are
        // reported at the cluster range it collides with, which the user did write.
        guard usable("networks") else { return }
        let isDefault = !written("networks[0]")
        for (i, network) in lab.networks.enumerated() {
            let path = "networks[\(i)].cidr"
            guard usable(path) else { continue }
            let label = "network \"\(network.name)\" (\(network.cidr))"
            if network.cidr.prefixLength > Self.longestUsablePrefix {
                d.error(path, "\(network.cidr) is too small for a network (its .1 is the gateway); use a prefix of /\(Self.longestUsablePrefix) or shorter")
            }
            for j in 0..<i where usable("networks[\(j)].cidr") && lab.networks[j].cidr.overlaps(network.cidr) {
                d.error(path, "\(network.cidr) overlaps network \"\(lab.networks[j].name)\" (\(lab.networks[j].cidr), \(d.line(of: "networks[\(j)].cidr")))")
            }
            for (key, cidr) in [("podCIDR", lab.cluster.podCIDR), ("serviceCIDR", lab.cluster.serviceCIDR)]
                where usable("cluster.\(key)") && cidr.overlaps(network.cidr) {
                if isDefault {
                    d.error("cluster.\(key)", "cluster.\(key) \(cidr) overlaps the default underlay \(label); choose another range or add a networks: section")
                } else {
                    d.error(path, "\(network.cidr) overlaps cluster.\(key) \(cidr)")
                }
            }
        }
    }

    /// Nodes and hosts: their network exists, their address fits it and is theirs alone.
    func checkUnderlayMachines(_ d: inout Diagnostics) {
        var machines: [(kind: String, name: String, network: String?, ip: IPv4Address?, path: String)] = []
        machines += lab.nodes.enumerated().map { ("node", $0.element.name, $0.element.network, $0.element.ip, "nodes[\($0.offset)]") }
        machines += lab.hosts.enumerated().map { ("host", $0.element.name, $0.element.network, $0.element.ip, "hosts[\($0.offset)]") }
        let networkNames = lab.networks.map(\.name)
        var taken: [IPv4Address: (kind: String, name: String, path: String)] = [:]
        let map = lab.sourceMap
        let inFileOrder = machines.sorted { lhs, rhs in
            let l = map.position(of: lhs.path), r = map.position(of: rhs.path)
            return (l.line, l.column) < (r.line, r.column)
        }
        for machine in inFileOrder {
            var networkIndex: Int? = lab.networks.isEmpty ? nil : 0
            if let name = machine.network {
                let path = "\(machine.path).network"
                networkIndex = lab.networks.firstIndex { $0.name == name }
                if networkIndex == nil, usable(path) {
                    d.error(path, "unknown network \"\(name)\"\(EditDistance.hint(for: name, among: networkNames)) (networks: \(Self.list(networkNames)))")
                }
            }
            let ipPath = "\(machine.path).ip"
            guard let ip = machine.ip, usable(ipPath) else { continue }
            // A network whose cidr did not decode holds a placeholder range; judging against it would mislead.
            if let networkIndex, usable("networks"), usable("networks[\(networkIndex)].cidr"),
               let problem = Self.underlayProblem(ip, in: lab.networks[networkIndex]) {
                d.error(ipPath, problem)
            }
            if let owner = taken[ip] {
                d.error(ipPath, "\(ip) is already the address of \(owner.kind) \"\(owner.name)\" (\(owner.path), \(d.line(of: owner.path + ".ip")))")
            } else {
                taken[ip] = (machine.kind, machine.name, machine.path)
            }
        }
    }

    /// Why `ip` cannot be a machine's address on `network`, if it cannot.
    static func underlayProblem(_ ip: IPv4Address, in network: NetworkSpec) -> String? {
        let label = "network \"\(network.name)\" (\(network.cidr))"
        if !network.cidr.contains(ip) { return "\(ip) is outside \(label)" }
        if ip == network.cidr.address { return "\(ip) is the network address of \(label)" }
        if ip == network.cidr.broadcast { return "\(ip) is the broadcast address of \(label)" }
        if ip == network.cidr.host(1) { return "\(ip) is the gateway of \(label), held by the lab's fabric" }
        return nil
    }

    func checkNodePodCIDRs(_ d: inout Diagnostics) {
        let cluster = lab.cluster.podCIDR
        var claimed: [(cidr: IPv4Network, node: String, path: String)] = []
        for (i, node) in lab.nodes.enumerated() {
            let path = "nodes[\(i)].podCIDR"
            guard let cidr = node.podCIDR, usable(path) else { continue }
            if usable("cluster.podCIDR"), !cluster.contains(cidr) {
                d.error(path, "\(cidr) is outside cluster.podCIDR \(cluster)")
            }
            if cidr.prefixLength > Self.longestUsablePrefix {
                d.error(path, "\(cidr) is too small for a node (its first address is cni0's); use a prefix of /\(Self.longestUsablePrefix) or shorter")
            }
            if let other = claimed.first(where: { $0.cidr.overlaps(cidr) }) {
                d.error(path, "\(cidr) overlaps the podCIDR \(other.cidr) of node \"\(other.node)\" (\(d.line(of: other.path)))")
            }
            claimed.append((cidr, node.name, path))
        }
    }
}
