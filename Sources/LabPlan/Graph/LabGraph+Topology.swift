import LabSpec

extension LabGraph {
    /// The picture of a settled lab. Pure: the same topology gives the same graph, whether it
    /// was built from a file just now or read from a running lab's `topology.json`.
    ///
    /// A node with more than `podsPerNode` pods gets one `pods` box for all of them (the range
    /// of their addresses and their labels with counts), and each service one edge to it, so
    /// the picture grows with nodes and services, not pods.
    public init(_ topology: Topology, podsPerNode: Int = LabGraph.defaultPodsPerNode) {
        var build = GraphBuild(topology: topology, podsPerNode: podsPerNode)
        build.fabricAndNetworks()
        build.overlay()
        for node in topology.nodes { build.node(node) }
        build.hosts()
        build.services()
        self.init(lab: topology.lab, network: topology.mode, proxy: topology.proxy, podsPerNode: podsPerNode,
                  groups: build.groups, nodes: build.nodes, edges: build.edges)
    }

    /// `app=web` lines, sorted by key.
    static func labelText(_ labels: [String: String]) -> [String] {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }

    /// What a box of many pods says: where their addresses lie and which labels they carry.
    /// At most four label lines (the most common first), so the box stays small.
    static func summary(of pods: [PodTopology]) -> [String] {
        var lines: [String] = []
        if let low = pods.map(\.ip).min(), let high = pods.map(\.ip).max() { lines.append("\(low) – \(high)") }
        var counts: [String: Int] = [:]
        for pod in pods { for label in labelText(pod.labels) { counts[label, default: 0] += 1 } }
        let ranked = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        lines += ranked.prefix(4).map { "\($0.key) ×\($0.value)" }
        if ranked.count > 4 { lines.append("… \(ranked.count - 4) more labels") }
        return lines
    }

    /// The type where the address does not say it, the ClusterIP, and one line per port:
    /// `80/TCP → 8080, nodePort 30080`.
    /// `service/NAME` (or `service/NAME.NAMESPACE` outside `default`): how the picture names
    /// a service's box, and how a trace finds it.
    static func object(of service: ServiceTopology) -> String {
        service.namespace == "default" ? "service/\(service.name)" : "service/\(service.name).\(service.namespace)"
    }

    static func details(of service: ServiceTopology) -> [String] {
        var lines: [String] = []
        if service.type == .nodePort { lines.append(service.type.rawValue) }
        if let clusterIP = service.clusterIP { lines.append("ClusterIP \(clusterIP)") } else { lines.append("headless: no ClusterIP") }
        for port in service.ports {
            var line = "\(port.port)/\(port.protocol.rawValue) → \(port.targetPort)"
            if let nodePort = port.nodePort { line += ", nodePort \(nodePort)" }
            lines.append(line)
        }
        if service.endpoints.isEmpty { lines.append("no endpoints") }
        return lines
    }
}

/// Ids made of the lab's names: `[A-Za-z0-9_]` (what Mermaid accepts unquoted), each new one
/// checked against the ones made before and given a `_2`, `_3`, … when two names would map
/// to one id (`a-b` and `a_b` cannot both be lab names today, but the picture must not depend
/// on that).
struct GraphIDs {
    private var used: Set<String> = []

    mutating func make(_ parts: String...) -> String {
        let base = parts.map { part in
            String(part.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
        }.joined(separator: "_")
        var id = base
        var counter = 2
        while used.contains(id) {
            id = "\(base)_\(counter)"
            counter += 1
        }
        used.insert(id)
        return id
    }
}

/// One drawing of a topology, step by step in the order `LabGraph.init` calls them (ids are
/// handed out in that order, so the same topology gives the same ids).
struct GraphBuild {
    let topology: Topology
    let podsPerNode: Int
    var ids = GraphIDs()
    var groups: [GraphGroup] = []
    var nodes: [GraphNode] = []
    var edges: [GraphEdge] = []
    var fabricGroup = ""
    var networkIDs: [String: String] = [:]
    var overlayID: String?
    /// The box each pod is drawn in: its own, or its node's box of many pods.
    var podBoxes: [String: String] = [:]
    /// Each node's pods, in file order, grouped once.
    let podsByNode: [String: [PodTopology]]

    init(topology: Topology, podsPerNode: Int) {
        self.topology = topology
        self.podsPerNode = podsPerNode
        podsByNode = Dictionary(grouping: topology.pods, by: \.node)
    }

    mutating func link(_ kind: GraphEdge.Kind, _ from: String, _ to: String, _ label: String? = nil) {
        edges.append(GraphEdge(id: "\(from)->\(to)", kind: kind, from: from, to: to, label: label))
    }

    /// 1. The fabric and the networks it routes between.
    mutating func fabricAndNetworks() {
        let group = GraphGroup(id: ids.make("g", "fabric"), kind: .fabric, title: "fabric")
        groups.append(group)
        fabricGroup = group.id
        let fabric = GraphNode(
            id: ids.make("fabric"), kind: .fabric, title: "fabric",
            details: topology.mode == .routed && !topology.nodes.isEmpty
                ? ["routes between networks", "podCIDRs via node IPs"] : ["routes between networks"],
            group: group.id, object: "fabric")
        nodes.append(fabric)
        for network in topology.networks {
            let id = ids.make("net", network.name)
            networkIDs[network.name] = id
            nodes.append(GraphNode(id: id, kind: .network, title: network.name,
                                   details: [network.cidr.description, "gateway \(network.gateway)"],
                                   group: group.id, object: "network/\(network.name)"))
            link(.gateway, id, fabric.id)
        }
    }

    /// 2. flannel's overlay: one box every VTEP joins, instead of an edge per pair of nodes.
    mutating func overlay() {
        guard topology.mode == .vxlan, !topology.nodes.isEmpty else { return }
        let id = ids.make("vxlan")
        overlayID = id
        nodes.append(GraphNode(id: id, kind: .overlay, title: "VXLAN overlay",
                               details: ["VNI 1, UDP 8472", "\(Naming.vxlanDevice) on every node"],
                               group: nil, object: "overlay"))
    }

    /// 3. A node in its own group with its pods, one box for them when there are many.
    mutating func node(_ node: NodeTopology) {
        let group = GraphGroup(id: ids.make("g", "node", node.name), kind: .node, title: "node \(node.name)")
        groups.append(group)
        var details = ["eth0 \(node.ip)", "podCIDR \(node.podCIDR)", "\(Naming.podBridge) \(node.bridgeAddress)"]
        if topology.mode == .vxlan { details += ["VTEP \(node.ip) on \(Naming.vxlanDevice)", "VTEP MAC \(node.vtepMAC)"] }
        let id = ids.make("node", node.name)
        nodes.append(GraphNode(id: id, kind: .node, title: node.name, details: details, group: group.id, object: "node/\(node.name)"))
        if let networkID = networkIDs[node.network] { link(.uplink, id, networkID) }
        if let overlayID { link(.vtep, id, overlayID) }

        let pods = podsByNode[node.name] ?? []
        guard pods.count <= podsPerNode else {
            let boxID = ids.make("pods", node.name)
            nodes.append(GraphNode(id: boxID, kind: .pods, title: "\(pods.count) pods", details: LabGraph.summary(of: pods),
                                   group: group.id, object: nil, members: pods.map(\.name)))
            for pod in pods { podBoxes[pod.name] = boxID }
            link(.veth, boxID, id, Naming.podBridge)
            return
        }
        for pod in pods {
            let podID = ids.make("pod", pod.name)
            var details = [pod.ip.description]
            if pod.namespace != "default" { details.append("namespace \(pod.namespace)") }
            details += LabGraph.labelText(pod.labels)
            nodes.append(GraphNode(id: podID, kind: .pod, title: pod.name, details: details, group: group.id,
                                   object: "pod/\(pod.name)"))
            podBoxes[pod.name] = podID
            link(.veth, podID, id)
        }
    }

    /// 4. Hosts, outside the cluster, on their networks.
    mutating func hosts() {
        for host in topology.hosts {
            let id = ids.make("host", host.name)
            nodes.append(GraphNode(id: id, kind: .host, title: host.name, details: ["eth0 \(host.ip)", "gateway \(host.gateway)"],
                                   group: nil, object: "host/\(host.name)"))
            if let networkID = networkIDs[host.network] { link(.uplink, id, networkID) }
        }
    }

    /// 5. Services and their endpoints: the edge says which port the pod serves; endpoints in
    ///    one pod box share one edge, labelled with how many they are.
    mutating func services() {
        guard !topology.services.isEmpty else { return }
        let group = GraphGroup(id: ids.make("g", "services"), kind: .services, title: "services (kube-proxy, \(topology.proxy.rawValue))")
        groups.append(group)
        let podsByName = Dictionary(topology.pods.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for service in topology.services {
            let id = ids.make("svc", service.namespace, service.name)
            let object = LabGraph.object(of: service)
            nodes.append(GraphNode(id: id, kind: .service, title: String(object.dropFirst("service/".count)),
                                   details: LabGraph.details(of: service), group: group.id, object: object))
            var order: [String] = []
            var byBox: [String: [String]] = [:]
            for name in service.endpoints {
                guard let box = podBoxes[name], let pod = podsByName[name] else { continue }
                if byBox[box] == nil { order.append(box) }
                let ports = service.ports.compactMap { pod.resolve(targetPort: $0.targetPort, protocol: $0.protocol) }
                byBox[box, default: []].append(ports.map(String.init).joined(separator: ", "))
            }
            for box in order {
                let ports = byBox[box] ?? []
                let label = ports.count > 1 ? "\(ports.count) endpoints" : ports.first.flatMap { $0.isEmpty ? nil : $0 }
                link(.endpoint, id, box, label)
            }
        }
    }
}
