import Foundation
import LabSpec

/// A `LabGraph` as JSON for other tools. The shape is pinned (`Golden/graph/*.json`): every key
/// is always present (`null` where a value does not apply), keys sorted, boxes and edges in the
/// graph's order. `format` names the shape's version, to be raised when the shape changes.
///
///     {"format": "lab-graph/1", "lab": …, "network": "routed", "proxy": "iptables",
///      "podsPerNode": 12, "groups": [{"id", "kind", "title"}],
///      "nodes": [{"id", "kind", "title", "details": [], "group", "object", "members": []}],
///      "edges": [{"id", "kind", "from", "to", "label"}],
///      "highlights": [{"style", "nodes": [], "edges": []}]}
public enum GraphJSON {
    public static let format = "lab-graph/1"

    public static func render(_ graph: LabGraph, highlights: [GraphHighlight] = []) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let document = Document(graph: graph, highlights: highlights)
        // Encoding plain strings, numbers and arrays cannot fail.
        let data = (try? encoder.encode(document)) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Reads what `render` wrote: for tools written in Swift and for the tests.
    public static func parse(_ text: String) throws -> (graph: LabGraph, highlights: [GraphHighlight]) {
        let document = try JSONDecoder().decode(Document.self, from: Data(text.utf8))
        return (document.graph, document.highlights.map(\.value))
    }

    struct Document: Codable {
        var format = GraphJSON.format
        var lab: String
        var network: NetworkMode
        var proxy: ProxyMode
        var podsPerNode: Int
        var groups: [GraphGroup]
        var nodes: [GraphNode]
        var edges: [GraphEdge]
        var highlights: [Highlight]

        /// A highlight's ids in the graph's order, so one highlight is always the same bytes.
        struct Highlight: Codable {
            var style: GraphHighlight.Style
            var nodes: [String]
            var edges: [String]

            var value: GraphHighlight { GraphHighlight(style: style, nodes: Set(nodes), edges: Set(edges)) }
        }

        init(graph: LabGraph, highlights: [GraphHighlight]) {
            lab = graph.lab
            network = graph.network
            proxy = graph.proxy
            podsPerNode = graph.podsPerNode
            groups = graph.groups
            nodes = graph.nodes
            edges = graph.edges
            self.highlights = highlights.map { highlight in
                Highlight(style: highlight.style, nodes: graph.nodes.map(\.id).filter(highlight.nodes.contains),
                          edges: graph.edges.map(\.id).filter(highlight.edges.contains))
            }
        }

        var graph: LabGraph {
            LabGraph(lab: lab, network: network, proxy: proxy, podsPerNode: podsPerNode, groups: groups, nodes: nodes, edges: edges)
        }
    }
}

extension GraphNode: Codable {
    private enum CodingKeys: String, CodingKey {
        case id, kind, title, details, group, object, members
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try container.decode(String.self, forKey: .id), kind: try container.decode(Kind.self, forKey: .kind),
                  title: try container.decode(String.self, forKey: .title),
                  details: try container.decode([String].self, forKey: .details),
                  group: try container.decode(String?.self, forKey: .group),
                  object: try container.decode(String?.self, forKey: .object),
                  members: try container.decode([String].self, forKey: .members))
    }

    /// Every key, `null` included: a stable shape is easier for tools than absent keys.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encode(title, forKey: .title)
        try container.encode(details, forKey: .details)
        try container.encode(group, forKey: .group)
        try container.encode(object, forKey: .object)
        try container.encode(members, forKey: .members)
    }
}

extension GraphEdge: Codable {
    private enum CodingKeys: String, CodingKey {
        case id, kind, from, to, label
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try container.decode(String.self, forKey: .id), kind: try container.decode(Kind.self, forKey: .kind),
                  from: try container.decode(String.self, forKey: .from), to: try container.decode(String.self, forKey: .to),
                  label: try container.decode(String?.self, forKey: .label))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        try container.encode(label, forKey: .label)
    }
}
