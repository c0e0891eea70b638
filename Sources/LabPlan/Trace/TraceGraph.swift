import LabSpec

/// A trace drawn over the lab's picture (`lab trace … --graph`): the expected path, the
/// observed one where it leaves the expected, and the first divergence between them, as
/// highlights every graph renderer draws. Hops name network namespaces; the picture's boxes
/// are lab objects, so each hop is mapped through `LabGraph.object(forNetns:in:)` and the
/// links between consecutive boxes are filled in by `LabGraph.highlight(path:style:)`.
public enum TraceGraph {
    /// The highlights, in drawing order: expected (dashed blue), observed (green) only when it
    /// visits other namespaces than the expected branch or a divergence was found, and the
    /// divergence last (thick red) so it shows on top.
    ///
    /// With a verdict, the expected path is the branch the kernel took; without one (the model
    /// alone), every branch of a service, as one highlight. A service's box and its arrow to
    /// the branch's endpoint are lit too: the DNAT is where the path turns.
    public static func highlights(_ graph: LabGraph, topology: Topology, expected: ExpectedTrace,
                                  observed: ObservedTrace? = nil, verdict: TraceVerdict? = nil) -> [GraphHighlight] {
        let branches = verdict.map { [expected.paths[min($0.branch, expected.paths.count - 1)]] } ?? expected.paths
        var expectedHighlight = GraphHighlight(style: .expected)
        for path in branches {
            expectedHighlight = expectedHighlight.union(graph.highlight(path: objects(path.forward, topology), style: .expected))
            expectedHighlight = expectedHighlight.union(graph.highlight(path: objects(path.reply, topology), style: .expected))
            if let service = serviceObject(expected.flow), let serviceID = graph.nodeID(for: service) {
                expectedHighlight.nodes.insert(serviceID)
                if let endpoint = path.endpoint, let endpointID = graph.nodeID(for: "pod/\(endpoint)"),
                   let edge = graph.edge(between: serviceID, and: endpointID) {
                    expectedHighlight.edges.insert(edge.id)
                }
            }
        }
        var highlights = [expectedHighlight]
        guard let observed, let verdict else { return highlights }

        let path = branches[0]
        let leaves = verdict.divergence != nil
            || TraceComparison.visits(observed.forward) != TraceComparison.visits(path.forward)
        if leaves {
            var observedHighlight = graph.highlight(path: objects(observed.forward, topology), style: .observed)
            observedHighlight = observedHighlight.union(graph.highlight(path: objects(observed.reply, topology), style: .observed))
            if !observedHighlight.isEmpty { highlights.append(observedHighlight) }
        }
        if let divergence = verdict.divergence {
            let reply = divergence.direction == "reply"
            var marked: [TraceHop] = []
            if let index = divergence.expectedIndex {
                let hops = reply ? path.reply : path.forward
                if hops.indices.contains(index) { marked.append(hops[index]) }
            }
            if let index = divergence.observedIndex {
                let hops = reply ? observed.reply : observed.forward
                if hops.indices.contains(index) { marked.append(hops[index]) }
            }
            // Nothing observed at the expected hop and no index on either side: the place the
            // packet was last seen is where the two part.
            if marked.isEmpty, let last = (reply ? observed.reply : observed.forward).last { marked.append(last) }
            let ids = marked.compactMap { LabGraph.object(forNetns: $0.netns, in: topology) }.compactMap(graph.nodeID(for:))
            if !ids.isEmpty { highlights.append(GraphHighlight(style: .divergence, nodes: Set(ids))) }
        }
        return highlights
    }

    /// The lab objects hops visit, in order, a namespace entered twice in a row named once.
    static func objects(_ hops: [TraceHop], _ topology: Topology) -> [String] {
        var result: [String] = []
        for hop in hops {
            guard let object = LabGraph.object(forNetns: hop.netns, in: topology) else { continue }
            if result.last != object { result.append(object) }
        }
        return result
    }

    /// `service/NAME` (or `service/NAME.NAMESPACE` outside `default`), as the picture names a
    /// service's box.
    static func serviceObject(_ flow: TraceFlow) -> String? {
        flow.service.map(LabGraph.object(of:))
    }
}
