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

/// An optional value whose key is always written, `null` when there is no value, and must be
/// there when read: a stable shape is easier for tools than absent keys. (The compiler's own
/// coding leaves a nil optional's key out.)
@propertyWrapper
public struct NullWhenAbsent<Value: Codable & Sendable & Hashable>: Codable, Sendable, Hashable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}
