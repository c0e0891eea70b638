import LabSpec

/// The lab as a picture before it is drawn: boxes (`GraphNode`), the groups they sit in
/// (`GraphGroup`: the fabric, each node with its pods, the services) and the lines between them
/// (`GraphEdge`). Built from a `Topology` alone, so the picture of a lab file and of the running
/// lab it became are the same; drawn by `MermaidGraph`, `DOTGraph` and `GraphJSON`.
///
/// Every id is `[A-Za-z0-9_]`, unique, and derived from the lab's names, so the renderers need
/// no escaping for ids and a highlight (`GraphHighlight`) names the same box in every format.
/// The order of groups, nodes and edges is the topology's, so the same lab gives the same bytes.
public struct LabGraph: Sendable, Hashable {
    public var lab: String
    public var network: NetworkMode
    public var proxy: ProxyMode
    /// Above this many pods a node's pods are drawn as one box (`GraphNode.Kind.pods`).
    public var podsPerNode: Int
    public var groups: [GraphGroup]
    public var nodes: [GraphNode]
    public var edges: [GraphEdge]

    /// The default of `podsPerNode`. Twelve pods are about as many boxes as fit beside each other
    /// in a README's width; a node with more reads better as one box that lists the range of
    /// addresses and the labels with their counts.
    public static let defaultPodsPerNode = 12

    /// One line that says what is drawn: the picture's title.
    public var title: String { "lab \(lab): \(network.rawValue) network, \(proxy.rawValue) proxy" }

    public func node(id: String) -> GraphNode? { nodes.first { $0.id == id } }

    /// The box that stands for a lab object (`pod/pod-a`, `node/node-1`, `host/laptop`,
    /// `network/rack-1`, `service/web`, `service/web.prod`, `fabric`): a pod drawn inside its
    /// node's group box is found there.
    public func nodeID(for object: String) -> String? {
        nodes.first { $0.object == object }?.id ?? nodes.first { node in
            node.kind == .pods && node.members.contains { "pod/\($0)" == object }
        }?.id
    }

    /// The edge between two boxes, in either direction.
    public func edge(between a: String, and b: String) -> GraphEdge? {
        edges.first { ($0.from == a && $0.to == b) || ($0.from == b && $0.to == a) }
    }
}

/// A box of the picture. Coded with every key, `null` included (`NullWhenAbsent`).
public struct GraphNode: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// The fabric: the router between the underlay networks.
        case fabric
        /// An underlay network: its bridge in the fabric.
        case network
        /// A Kubernetes node's own network namespace: `eth0`, `cni0`, its routes and rules.
        case node
        case pod
        /// The pods of one node drawn as one box, because there are more than `podsPerNode`.
        case pods
        /// A machine outside the cluster on an underlay network.
        case host
        case service
        /// flannel's VXLAN overlay, which every node's `flannel.1` joins (vxlan mode only).
        case overlay
    }

    public var id: String
    public var kind: Kind
    /// The lab's name for it: what the picture shows first.
    public var title: String
    /// One fact a line: addresses, CIDRs, ports, labels.
    public var details: [String]
    /// The id of the group it is drawn in; nil at the top level.
    @NullWhenAbsent public var group: String? = nil
    /// The lab object it stands for, as references spell it (`pod/pod-a`); nil for a pod group.
    @NullWhenAbsent public var object: String? = nil
    /// The pods a `pods` box stands for, in file order; empty for every other kind.
    public var members: [String] = []
}

/// A box drawn around boxes: the fabric with its networks, a node with its pods, the services.
public struct GraphGroup: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case fabric, node, services
    }

    public var id: String
    public var kind: Kind
    public var title: String
}

/// A line between two boxes. Links (everything but `endpoint`) are undirected cables; an
/// endpoint edge points from a service to a pod that serves it.
public struct GraphEdge: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// A network's bridge in the fabric, whose address is the network's gateway.
        case gateway
        /// A node's or host's `eth0`, a port of its network's bridge.
        case uplink
        /// A pod's `eth0` and its veth peer, a port of the node's `cni0`.
        case veth
        /// A node's `flannel.1` in the VXLAN overlay.
        case vtep
        /// A service's endpoint: kube-proxy DNATs the ClusterIP to this pod.
        case endpoint
    }

    /// `FROM->TO`: unique, because two boxes have at most one edge between them.
    public var id: String
    public var kind: Kind
    public var from: String
    public var to: String
    @NullWhenAbsent public var label: String? = nil
}

/// Boxes and edges to draw in a colour of their own: a path through the lab (the hops of a
/// trace), by id. Every renderer takes a list of them, drawn in order, so where two overlap the
/// later one shows (give a divergence last). Ids that are not in the graph are ignored.
public struct GraphHighlight: Sendable, Hashable {
    /// How a highlight is drawn: `path` red; a trace's `expected` path dashed blue and its
    /// `observed` path solid green; the first `divergence` between them thick red.
    public enum Style: String, Sendable, Hashable, Codable, CaseIterable {
        case path, expected, observed, divergence
    }

    public var style: Style
    public var nodes: Set<String>
    public var edges: Set<String>

    public init(style: Style = .path, nodes: Set<String> = [], edges: Set<String> = []) {
        self.style = style
        self.nodes = nodes
        self.edges = edges
    }

    public var isEmpty: Bool { nodes.isEmpty && edges.isEmpty }

    /// Both highlights' boxes and edges, in this one's style: the branches of a path that forks
    /// (one per endpoint of a service) drawn as one.
    public func union(_ other: GraphHighlight) -> GraphHighlight {
        GraphHighlight(style: style, nodes: nodes.union(other.nodes), edges: edges.union(other.edges))
    }
}

extension LabGraph {
    /// The highlight of a walk through the lab given as the lab objects it visits in order
    /// (`["pod/pod-a", "node/node-1", "network/rack-1", "fabric", …]`): each object's box and
    /// the edges between consecutive boxes. A pod drawn inside a group lights its group;
    /// consecutive objects in one box (two pods of a group) add no edge.
    ///
    /// Two consecutive objects need not be neighbours in the picture: a walk by network
    /// namespaces (a trace's hops: pod, node, fabric, node, pod) passes networks and the overlay
    /// without naming them, so the shortest chain of links between the two is lit, boxes
    /// included. Service arrows are not links and are never used to fill a gap.
    public func highlight(path objects: [String], style: GraphHighlight.Style = .path) -> GraphHighlight {
        var highlight = GraphHighlight(style: style)
        var previous: String?
        for object in objects {
            guard let id = nodeID(for: object) else { previous = nil; continue }
            highlight.nodes.insert(id)
            if let previous, previous != id {
                for edge in links(from: previous, to: id) {
                    highlight.edges.insert(edge.id)
                    highlight.nodes.insert(edge.from)
                    highlight.nodes.insert(edge.to)
                }
            }
            previous = id
        }
        return highlight
    }

    /// The fewest links (cables: every edge but a service's arrows) from one box to another,
    /// found breadth-first in the graph's edge order, so ties always resolve alike; empty when
    /// no chain of links joins them.
    func links(from start: String, to goal: String) -> [GraphEdge] {
        if let direct = edge(between: start, and: goal) { return direct.kind == .endpoint ? [] : [direct] }
        var neighbours: [String: [GraphEdge]] = [:]
        for edge in edges where edge.kind != .endpoint {
            neighbours[edge.from, default: []].append(edge)
            neighbours[edge.to, default: []].append(edge)
        }
        var reachedBy: [String: GraphEdge] = [:]
        var visited: Set<String> = [start]
        var frontier = [start]
        while !frontier.isEmpty, reachedBy[goal] == nil {
            var next: [String] = []
            for box in frontier {
                for edge in neighbours[box] ?? [] {
                    let other = edge.from == box ? edge.to : edge.from
                    if visited.insert(other).inserted {
                        reachedBy[other] = edge
                        next.append(other)
                    }
                }
            }
            frontier = next
        }
        var chain: [GraphEdge] = []
        var box = goal
        while box != start, let edge = reachedBy[box] {
            chain.append(edge)
            box = edge.from == box ? edge.to : edge.from
        }
        return box == start ? chain.reversed() : []
    }

    /// The lab object a network namespace of the topology belongs to (`pod/NAME`, `node/NAME`,
    /// `host/NAME`, `fabric`), for a walk given by namespaces, as a trace's hops are.
    public static func object(forNetns netns: String, in topology: Topology) -> String? {
        if netns == topology.fabricNetns { return "fabric" }
        if let node = topology.nodes.first(where: { $0.netns == netns }) { return "node/\(node.name)" }
        if let host = topology.hosts.first(where: { $0.netns == netns }) { return "host/\(host.name)" }
        if let pod = topology.pods.first(where: { $0.netns == netns }) { return "pod/\(pod.name)" }
        return nil
    }
}
