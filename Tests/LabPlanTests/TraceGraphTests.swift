import LabSpec
import Testing
@testable import LabPlan

/// `lab trace --graph`: the highlights of known traces on the demo lab — the expected path's
/// boxes and links, a service's arrow to the endpoint the kernel picked, and for a packet
/// dropped on purpose the observed path and the divergence drawn over it.
@Suite struct TraceGraphTests {
    static func demo() throws -> (Topology, LabGraph) {
        let topology = try TraceGoldenTests.topology("demo", proxy: nil, network: nil)
        return (topology, LabGraph(topology))
    }

    static func expected(_ request: TraceRequest, in topology: Topology) throws -> ExpectedTrace {
        ExpectedPath.walk(try TraceFlow.resolve(request, in: topology), in: topology)
    }

    @Test func theExpectedPathAcrossNodesLightsEveryBoxAndLinkItCrosses() throws {
        let (topology, graph) = try Self.demo()
        let expected = try Self.expected(TraceRequest(from: "pod-a", to: "web-2", port: 8080), in: topology)
        let highlights = TraceGraph.highlights(graph, topology: topology, expected: expected)
        #expect(highlights.map(\.style) == [.expected])
        #expect(highlights[0].nodes == ["pod_pod_a", "node_node_1", "net_rack_1", "fabric", "node_node_2", "pod_web_2"])
        #expect(highlights[0].edges == ["pod_pod_a->node_node_1", "node_node_1->net_rack_1", "net_rack_1->fabric",
                                        "node_node_2->net_rack_1", "pod_web_2->node_node_2"])
    }

    @Test func aServiceLightsItsBoxAndTheArrowToTheEndpointTaken() throws {
        let (topology, graph) = try Self.demo()
        let expected = try Self.expected(TraceRequest(from: "pod-a", to: "service/web", port: 80), in: topology)
        // The model alone: every endpoint.
        let all = TraceGraph.highlights(graph, topology: topology, expected: expected)
        #expect(all[0].nodes.isSuperset(of: ["svc_default_web", "pod_pod_b", "pod_web_2", "pod_multi_container_pod"]))
        #expect(all[0].edges.isSuperset(of: ["svc_default_web->pod_pod_b", "svc_default_web->pod_web_2",
                                            "svc_default_web->pod_multi_container_pod"]))

        // The kernel picked web-2 (branch 2) and the packet went exactly as the model says.
        let branch = try #require(expected.paths.firstIndex { $0.endpoint == "web-2" })
        let path = expected.paths[branch]
        let observed = ObservedTrace(forward: path.forward, reply: path.reply,
                                     conntrack: [ConntrackObservation(netns: path.forward[1].netns, object: "node-1", original: "", reply: "",
                                                                      state: nil, dnatTo: "10.244.2.2:8080")],
                                     answer: "SYN-ACK", tuple: "tcp 10.244.1.2:47113 → 10.96.0.20:80", notes: [])
        let verdict = TraceComparison.verdict(expected: expected, observed: observed)
        #expect(verdict.branch == branch)
        #expect(verdict.divergence == nil)
        let highlights = TraceGraph.highlights(graph, topology: topology, expected: expected, observed: observed, verdict: verdict)
        #expect(highlights.map(\.style) == [.expected], "nothing to add when the kernel followed the model")
        #expect(highlights[0].edges.contains("svc_default_web->pod_web_2"))
        #expect(!highlights[0].edges.contains("svc_default_web->pod_pod_b"))
        #expect(!highlights[0].nodes.contains("pod_pod_b"))
        #expect(!highlights[0].nodes.contains("node_node_3"))
    }

    @Test func aPacketDroppedOnTheWayDrawsTheObservedPathAndTheDivergence() throws {
        let (topology, graph) = try Self.demo()
        let expected = try Self.expected(TraceRequest(from: "pod-a", to: "web-2", port: 8080), in: topology)
        let node1 = try #require(topology.node(named: "node-1")).netns
        let pod = try #require(topology.pod(named: "pod-a")).netns
        var forward = expected.paths[0].forward.filter { [pod, node1].contains($0.netns) }
        forward.append(TraceHop(netns: node1, object: "node-1", decision: "verdict drop", rule: "-A FORWARD -d 10.244.2.2/32 -j DROP",
                                table: "filter", chain: "FORWARD", verdict: "drop"))
        let observed = ObservedTrace(forward: forward, reply: [], conntrack: [], answer: "nothing",
                                     tuple: "tcp 10.244.1.2:47113 → 10.244.2.2:8080", notes: [])
        let verdict = TraceComparison.verdict(expected: expected, observed: observed)
        #expect(!verdict.delivered)
        #expect(verdict.divergence != nil)

        let highlights = TraceGraph.highlights(graph, topology: topology, expected: expected, observed: observed, verdict: verdict)
        #expect(highlights.map(\.style) == [.expected, .observed, .divergence])
        #expect(highlights[1].nodes == ["pod_pod_a", "node_node_1"])
        #expect(highlights[1].edges == ["pod_pod_a->node_node_1"])
        #expect(highlights[2].nodes == ["node_node_1"])
        #expect(highlights[2].edges.isEmpty)

        // Every renderer draws the three, the divergence last (on top).
        let mermaid = MermaidGraph.render(graph, highlights: highlights)
        let expectedClass = try #require(mermaid.range(of: "class fabric,net_rack_1,node_node_1,pod_pod_a,node_node_2,pod_web_2 hl_expected"))
        let divergenceClass = try #require(mermaid.range(of: "class node_node_1 hl_divergence"))
        #expect(expectedClass.lowerBound < divergenceClass.lowerBound)
        #expect(mermaid.contains("class node_node_1,pod_pod_a hl_observed"))
        let parsed = try GraphJSON.parse(GraphJSON.render(graph, highlights: highlights))
        #expect(parsed.highlights == highlights)
        #expect(DOTGraph.render(graph, highlights: highlights).contains("penwidth=5"))
    }
}
