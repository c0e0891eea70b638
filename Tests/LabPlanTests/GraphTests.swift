import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import LabSpec
import Testing
@testable import LabPlan

/// `lab graph`'s model and renderers. Every example lab's picture is pinned in
/// `Golden/graph/` in each text format (regenerate with `UPDATE_GOLDEN=1 swift test --filter
/// GraphTests` and review the diff); each format is also read back by its own tool: Graphviz's
/// `dot` for DOT (and its SVG by an XML parser), a Mermaid reader's first checks for Mermaid,
/// `JSONDecoder` for JSON.
@Suite struct GraphTests {
    static let root = GoldenPlanTests.root
    static let labs = GoldenPlanTests.labs
    static let formats = ["mmd", "dot", "json"]

    static func graph(of file: String) throws -> LabGraph {
        let loaded = try LabFileLoader.load(path: root.appendingPathComponent("labs/\(file)").path)
        return LabGraph(try TopologyBuilder.build(loaded.lab))
    }

    static func render(_ graph: LabGraph, as format: String, highlights: [GraphHighlight] = []) -> String {
        switch format {
        case "mmd": return MermaidGraph.render(graph, highlights: highlights)
        case "dot": return DOTGraph.render(graph, highlights: highlights)
        default: return GraphJSON.render(graph, highlights: highlights)
        }
    }

    @Test(arguments: labs, formats)
    func graphMatchesGolden(_ file: String, _ format: String) throws {
        let text = Self.render(try Self.graph(of: file), as: format)
        let golden = Self.root.appendingPathComponent("Tests/LabPlanTests/Golden/graph/\(file.replacingOccurrences(of: ".yaml", with: ".\(format)"))")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: golden.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        #expect(text == expected, "graph of labs/\(file) as \(format) differs from \(golden.lastPathComponent)")
    }

    // MARK: - What the picture holds

    @Test func demoHasEveryKindOfObjectWithItsAddresses() throws {
        let graph = try Self.graph(of: "demo.yaml")
        let fabric = try #require(graph.node(id: "fabric"))
        #expect(fabric.kind == .fabric && fabric.group == "g_fabric")
        let rack = try #require(graph.node(id: "net_rack_1"))
        #expect(rack.details == ["192.168.1.0/24", "gateway 192.168.1.1"])
        let node = try #require(graph.node(id: "node_node_1"))
        #expect(node.details == ["eth0 192.168.1.10", "podCIDR 10.244.1.0/24", "cni0 10.244.1.1"])
        let pod = try #require(graph.node(id: "pod_pod_a"))
        #expect(pod.group == "g_node_node_1" && pod.details == ["10.244.1.2", "app=client"] && pod.object == "pod/pod-a")
        let service = try #require(graph.node(id: "svc_default_web"))
        #expect(service.details == ["NodePort", "ClusterIP 10.96.0.20", "80/TCP → 8080, nodePort 30080"])
        #expect(graph.node(id: "host_laptop")?.details == ["eth0 192.168.1.2", "gateway 192.168.1.1"])
        let endpoints = graph.edges.filter { $0.from == service.id }.map(\.to)
        #expect(endpoints == ["pod_pod_b", "pod_web_2", "pod_multi_container_pod"])
        #expect(graph.edges.filter { $0.kind == .endpoint && $0.from == service.id }.allSatisfy { $0.label == "8080" })
        // The cluster DNS: kube-dns selects the coredns pod on node-1.
        #expect(graph.edges.filter { $0.kind == .endpoint && $0.from == "svc_kube_system_kube_dns" }.map(\.to) == ["pod_coredns"])
        #expect(graph.node(id: "pod_coredns")?.group == "g_node_node_1")
        // Routed: no overlay box, no VTEP.
        #expect(!graph.nodes.contains { $0.kind == .overlay })
        // Names, not hashes: no veth name or namespace anywhere on the picture.
        let text = MermaidGraph.render(graph) + DOTGraph.render(graph)
        #expect(!text.contains("veth") && !text.contains("lab.demo."))
    }

    @Test func servicesOfEveryKindSayWhatTheyAre() throws {
        let file = LabFile(
            name: "kinds",
            nodes: [NodeSpec(name: "n1")],
            pods: [
                PodSpec(name: "a", namespace: "prod", node: "n1", labels: ["app": "api"],
                        containers: [ContainerSpec(name: "c", runtime: .command(["sleep", "1"]),
                                                   ports: [ContainerPortSpec(name: "http", containerPort: 8080)])]),
                PodSpec(name: "b", node: "n1", labels: ["app": "web"]),
            ],
            services: [
                ServiceSpec(name: "api", namespace: "prod", selector: ["app": "api"],
                            ports: [ServicePortSpec(port: 80, targetPort: .name("http")),
                                    ServicePortSpec(port: 81, targetPort: .number(9000), protocol: .udp)]),
                ServiceSpec(name: "none", selector: ["app": "nothing"], ports: [ServicePortSpec(port: 80)]),
                ServiceSpec(name: "hl", type: .headless, clusterIP: .none, selector: ["app": "web"]),
            ])
        let graph = LabGraph(try TopologyBuilder.build(file))
        let api = try #require(graph.node(id: "svc_prod_api"))
        #expect(api.title == "api.prod" && api.object == "service/api.prod")
        #expect(api.details == ["ClusterIP 10.96.0.1", "80/TCP → http", "81/UDP → 9000"])
        #expect(graph.edge(between: api.id, and: "pod_a")?.label == "8080, 9000")
        #expect(graph.node(id: "pod_a")?.details == ["10.244.1.2", "namespace prod", "app=api"])
        #expect(graph.node(id: "svc_default_none")?.details.last == "no endpoints")
        #expect(!graph.edges.contains { $0.from == "svc_default_none" })
        #expect(graph.node(id: "svc_default_hl")?.details == ["headless: no ClusterIP"])
        #expect(graph.nodeID(for: "service/api.prod") == "svc_prod_api")
    }

    @Test func overlayNodesShowTheirVTEPAndJoinTheOverlay() throws {
        let graph = try Self.graph(of: "overlay.yaml")
        let overlay = try #require(graph.nodes.first { $0.kind == .overlay })
        #expect(overlay.details.contains("VNI 1, UDP 8472"))
        for node in graph.nodes where node.kind == .node {
            #expect(node.details.contains { $0.hasPrefix("VTEP ") && $0.contains("flannel.1") }, "\(node.id)")
            #expect(graph.edge(between: node.id, and: overlay.id)?.kind == .vtep)
        }
        #expect(graph.node(id: "fabric")?.details == ["routes between networks"])
    }

    @Test func everyIdIsUniqueAndEveryEdgeJoinsBoxesThatExist() throws {
        for file in Self.labs {
            let graph = try Self.graph(of: file)
            let ids = graph.nodes.map(\.id) + graph.groups.map(\.id)
            #expect(Set(ids).count == ids.count, "\(file)")
            #expect(ids.allSatisfy { $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") } })
            #expect(Set(graph.edges.map(\.id)).count == graph.edges.count)
            let boxes = Set(graph.nodes.map(\.id))
            #expect(graph.edges.allSatisfy { boxes.contains($0.from) && boxes.contains($0.to) })
        }
    }

    @Test func idsOfNamesThatMapAlikeStayApart() {
        var ids = GraphIDs()
        #expect(ids.make("pod", "a-b") == "pod_a_b")
        #expect(ids.make("pod", "a.b") == "pod_a_b_2")
        #expect(ids.make("pod", "a_b") == "pod_a_b_3")
    }

    // MARK: - Each format read by its own tool

    @Test(arguments: labs)
    func mermaidStartsWithItsDeclarationAndDeclaresEachIdOnce(_ file: String) throws {
        let text = MermaidGraph.render(try Self.graph(of: file))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.first == "flowchart LR")
        // A declaration is `id[…`, `id(…`, `id{…`, `id>…` or `subgraph id [`: each id once.
        var declared: [String] = []
        for line in lines.map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.hasPrefix("subgraph ") {
                declared.append(String(line.dropFirst("subgraph ".count).prefix { $0 != " " && $0 != "[" }))
            } else if let shape = line.firstIndex(where: { "[({>".contains($0) }),
                      line[..<shape].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !line.hasPrefix("class") {
                declared.append(String(line[..<shape]))
            }
        }
        #expect(!declared.isEmpty)
        #expect(Set(declared).count == declared.count, "duplicate ids: \(declared)")
        #expect(!declared.contains("end") && declared.allSatisfy { !$0.isEmpty })
        // Every edge names declared boxes; labels are quoted.
        let edges = lines.filter { $0.contains(" --- ") || $0.contains(" -.->") }
        #expect(edges.count == (try Self.graph(of: file)).edges.count)
        for edge in edges {
            let parts = edge.trimmingCharacters(in: .whitespaces).split(separator: " ")
            #expect(declared.contains(String(parts[0])) && declared.contains(String(parts[parts.count - 1])), "\(edge)")
        }
        // Quotes balance on every line: no label ends early.
        #expect(lines.allSatisfy { $0.filter { $0 == "\"" }.count % 2 == 0 })
    }

    @Test(arguments: labs)
    func dotIsAcceptedByGraphvizAndItsSVGIsXML(_ file: String) throws {
        let dot = try #require(Self.dotProgram, "Graphviz's dot is not installed: run scripts/install-deps (package graphviz)")
        let result = try Self.run(dot, ["-Tsvg"], input: DOTGraph.render(try Self.graph(of: file)))
        #expect(result.status == 0, "dot -Tsvg refused the DOT of \(file): \(result.stderr)")
        #expect(result.stderr.isEmpty, "dot warned: \(result.stderr)")
        let texts = try Self.expectXML(result.stdout, file)
        // Every box reached the picture, by its title.
        for node in try Self.graph(of: file).nodes {
            #expect(texts.contains(node.title), "\(node.title) missing from the SVG of \(file)")
        }
    }

    @Test(arguments: labs)
    func jsonReadsBackAsTheSameGraph(_ file: String) throws {
        let graph = try Self.graph(of: file)
        let highlight = graph.highlight(path: ["fabric", graph.nodes[1].object ?? ""])
        let parsed = try GraphJSON.parse(GraphJSON.render(graph, highlights: [highlight]))
        #expect(parsed.graph == graph)
        #expect(parsed.highlights == [highlight])
        let object = try JSONSerialization.jsonObject(with: Data(GraphJSON.render(graph).utf8)) as? [String: Any]
        #expect(object?["format"] as? String == "lab-graph/1")
        // Stable shape: every box has every key, null where it does not apply.
        let nodes = object?["nodes"] as? [[String: Any]] ?? []
        #expect(nodes.allSatisfy { Set($0.keys) == ["id", "kind", "title", "details", "group", "object", "members"] })
    }

    /// docs/demo.svg (the README's picture, made by scripts/graph-demo) is SVG and still shows
    /// every box of the demo: a demo changed without redrawing fails here. Graphviz's exact
    /// output varies between its versions, so this is not a byte comparison.
    @Test func theREADMEPictureShowsTheDemo() throws {
        let svg = try String(contentsOf: Self.root.appendingPathComponent("docs/demo.svg"), encoding: .utf8)
        let texts = try Self.expectXML(svg, "docs/demo.svg")
        let graph = try Self.graph(of: "demo.yaml")
        for node in graph.nodes {
            for line in [node.title] + node.details {
                #expect(texts.contains(line), "docs/demo.svg lacks \"\(line)\" of \(node.id): run scripts/graph-demo")
            }
        }
    }

    // MARK: - Many pods

    /// 200 pods on 4 nodes behind 60 services, as the bench's lab: every node's pods become
    /// one box, and the picture stays small. (The time to draw it is a row of scripts/bench.)
    @Test func twoHundredPodsCollapsePerNodeAndStayBounded() throws {
        let topology = try TopologyBuilder.build(Self.generated(pods: 200, nodes: 4, services: 60))
        let graph = LabGraph(topology)
        let groups = graph.nodes.filter { $0.kind == .pods }
        #expect(groups.count == 4)
        #expect(!graph.nodes.contains { $0.kind == .pod })
        #expect(groups.flatMap(\.members).sorted() == topology.pods.map(\.name).sorted())
        // node-1 also runs the DNS pod, after the file's 50.
        #expect(groups[0].title == "51 pods")
        #expect(groups[0].details.first == "10.244.1.2 – 10.244.1.52")
        // One edge per service and node box, labelled with how many endpoints it stands for.
        let endpoints = graph.edges.filter { $0.kind == .endpoint }
        #expect(endpoints.count <= 60 * 4 + 1)
        #expect(endpoints.filter { $0.from != "svc_kube_system_kube_dns" }.allSatisfy { $0.label?.hasSuffix("endpoints") == true || $0.label == "8080" })
        for format in Self.formats {
            let text = Self.render(graph, as: format)
            #expect(text.utf8.count < 64 * 1024, "\(format): \(text.utf8.count) bytes")
        }
        #expect(graph.nodeID(for: "pod/p7") == groups.first { $0.members.contains("p7") }?.id)
        // With a higher threshold every pod has its own box again.
        #expect(LabGraph(topology, podsPerNode: 51).nodes.filter { $0.kind == .pod }.count == 201)
        #expect(LabGraph(topology, podsPerNode: 0).nodes.filter { $0.kind == .pods }.count == 4)
    }

    @Test func manyPodsStillDrawWithGraphviz() throws {
        let dot = try #require(Self.dotProgram, "Graphviz's dot is not installed: run scripts/install-deps (package graphviz)")
        let graph = LabGraph(try TopologyBuilder.build(Self.generated(pods: 200, nodes: 4, services: 60)))
        let result = try Self.run(dot, ["-Tsvg"], input: DOTGraph.render(graph))
        #expect(result.status == 0, "\(result.stderr)")
        try Self.expectXML(result.stdout, "200 pods")
    }

    // MARK: - Highlight (what `lab trace --graph` draws)

    static let acrossNetworks = ["pod/pod-a", "node/node-1", "network/rack-1", "fabric", "network/rack-2", "node/node-3",
                                 "pod/multi-container-pod"]

    @Test func aPathLightsItsBoxesAndTheEdgesBetweenThem() throws {
        let graph = try Self.graph(of: "demo.yaml")
        let highlight = graph.highlight(path: Self.acrossNetworks)
        #expect(highlight.nodes == ["pod_pod_a", "node_node_1", "net_rack_1", "fabric", "net_rack_2", "node_node_3",
                                    "pod_multi_container_pod"])
        #expect(highlight.edges == ["pod_pod_a->node_node_1", "node_node_1->net_rack_1", "net_rack_1->fabric",
                                    "net_rack_2->fabric", "node_node_3->net_rack_2", "pod_multi_container_pod->node_node_3"])

        let mermaid = MermaidGraph.render(graph, highlights: [highlight])
        let hotClass = try #require(mermaid.split(separator: "\n").first { $0.hasSuffix(" hl_path") && $0.contains("class ") })
        #expect(Set(hotClass.split(separator: " ")[1].split(separator: ",").map(String.init)) == highlight.nodes)
        #expect(mermaid.contains("  classDef hl_path stroke:#dd3333,stroke-width:3px\n"))
        // linkStyle counts edges in declaration order: the indices are those of the lit edges.
        let edgeLines = mermaid.split(separator: "\n").filter { $0.contains(" --- ") || $0.contains(" -.->") }
        let expected = edgeLines.indices.filter { index in
            let parts = edgeLines[index].trimmingCharacters(in: .whitespaces).split(separator: " ")
            return highlight.edges.contains("\(parts[0])->\(parts[parts.count - 1])")
        }
        #expect(expected.count == 6)
        #expect(mermaid.contains("  linkStyle \(expected.map(String.init).joined(separator: ",")) stroke:#dd3333,stroke-width:3px\n"))
        #expect(!MermaidGraph.render(graph).contains("linkStyle"))

        let dot = DOTGraph.render(graph, highlights: [highlight])
        let hotEdges = dot.split(separator: "\n").filter { $0.contains(" -> ") && $0.contains("penwidth=3") }
        #expect(hotEdges.count == 6)
        #expect(hotEdges.allSatisfy { $0.contains("color=\"#dd3333\"") && $0.components(separatedBy: "color=").count == 2 })
        let hotBoxes = dot.split(separator: "\n").filter { !$0.contains(" -> ") && $0.contains("penwidth=3") }
        #expect(hotBoxes.count == 7)
        #expect(!DOTGraph.render(graph).contains("penwidth"))

        let json = try GraphJSON.parse(GraphJSON.render(graph, highlights: [highlight]))
        #expect(json.highlights == [highlight])
    }

    /// A trace draws its expected path dashed blue and what the kernel observed solid green; the
    /// hop where they part is drawn last, thick red, over both.
    @Test func expectedObservedAndDivergenceEachHaveTheirLook() throws {
        let graph = try Self.graph(of: "demo.yaml")
        let expected = graph.highlight(path: Self.acrossNetworks, style: .expected)
        let observed = graph.highlight(path: Array(Self.acrossNetworks.prefix(4)), style: .observed)
        let divergence = graph.highlight(path: ["fabric", "network/rack-2"], style: .divergence)
        let highlights = [expected, observed, divergence]

        let dot = DOTGraph.render(graph, highlights: highlights)
        func line(_ prefix: String) -> String { dot.split(separator: "\n").map(String.init).first { $0.hasPrefix("  \(prefix)") } ?? "" }
        #expect(line("node_node_3 -> net_rack_2").contains("color=\"#2b6cd4\", penwidth=3, style=dashed"))
        #expect(line("pod_pod_a -> node_node_1").contains("color=\"#2a9d4a\", penwidth=3, style=solid"))
        #expect(line("net_rack_2 -> fabric").contains("color=\"#dd3333\", penwidth=5"))
        // Every line of the DOT names each attribute once, whatever overlaps.
        for text in dot.split(separator: "\n") where text.contains("[") {
            let keys = text.split(separator: "[", maxSplits: 1)[1].components(separatedBy: ", ").compactMap { $0.split(separator: "=").first }
            #expect(Set(keys).count == keys.count, "\(text)")
        }
        let dotProgram = try #require(Self.dotProgram, "Graphviz's dot is not installed: run scripts/install-deps (package graphviz)")
        #expect(try Self.run(dotProgram, ["-Tsvg"], input: dot).status == 0)

        let mermaid = MermaidGraph.render(graph, highlights: highlights)
        #expect(mermaid.contains("classDef hl_expected stroke:#2b6cd4,stroke-width:3px,stroke-dasharray:6 3"))
        #expect(mermaid.contains("classDef hl_observed stroke:#2a9d4a,stroke-width:3px"))
        #expect(mermaid.contains("classDef hl_divergence stroke:#dd3333,stroke-width:5px"))
        // Drawn in order: the divergence's linkStyle comes last, so it shows over the others.
        let styles = mermaid.split(separator: "\n").filter { $0.hasPrefix("  linkStyle") }
        #expect(styles.count == 3 && styles.last?.contains("5px") == true)

        let json = try GraphJSON.parse(GraphJSON.render(graph, highlights: highlights))
        #expect(json.highlights == highlights)
        #expect(expected.union(observed).edges == expected.edges)
    }

    @Test func manyBoxesInOneGroupWrapIntoRows() throws {
        let graph = LabGraph(try TopologyBuilder.build(Self.generated(pods: 10, nodes: 1, services: 10)), podsPerNode: 12)
        let invisible = DOTGraph.render(graph).split(separator: "\n").filter { $0.hasSuffix("[style=invis];") }
        // 10 pods and the DNS pod in rows of 4: 7 links a row apart; 10 services and kube-dns in
        // rows of 6: 5.
        #expect(invisible.count == 7 + 5)
        #expect(invisible.contains("  pod_p0 -> pod_p4 [style=invis];"))
        #expect(invisible.contains("  svc_default_s0 -> svc_default_s6 [style=invis];"))
        #expect(!DOTGraph.render(try Self.graph(of: "demo.yaml")).contains("invis"))
    }

    /// A trace's hops are namespaces: pod, node, fabric, node, pod. The networks between them
    /// are lit as if named; in vxlan mode two nodes are joined through the overlay.
    @Test func aWalkByNamespacesFillsTheLinksBetween() throws {
        let graph = try Self.graph(of: "demo.yaml")
        let topology = try TopologyBuilder.build(LabFileLoader.load(path: Self.root.appendingPathComponent("labs/demo.yaml").path).lab)
        let namespaces = ["pod-a", "node-1", "fabric", "node-3", "multi-container-pod"].map { name in
            name == "fabric" ? topology.fabricNetns
                : topology.pod(named: name)?.netns ?? topology.node(named: name)?.netns ?? ""
        }
        let objects = namespaces.compactMap { LabGraph.object(forNetns: $0, in: topology) }
        #expect(objects == ["pod/pod-a", "node/node-1", "fabric", "node/node-3", "pod/multi-container-pod"])
        #expect(graph.highlight(path: objects) == graph.highlight(path: Self.acrossNetworks))
        #expect(LabGraph.object(forNetns: "lab.other.pod.x", in: topology) == nil)
        // Same network: node to node through their network's bridge, not the fabric's router.
        let sameRack = graph.highlight(path: ["node/node-1", "node/node-2"])
        #expect(sameRack.nodes == ["node_node_1", "net_rack_1", "node_node_2"])
        // A service's arrows never fill a gap: the service is lit, no edge to it.
        let service = graph.highlight(path: ["pod/pod-a", "service/web"])
        #expect(service.nodes == ["pod_pod_a", "svc_default_web"] && service.edges.isEmpty)

        let overlay = try Self.graph(of: "overlay.yaml")
        let tunnel = overlay.highlight(path: ["pod/a", "node/node-1", "node/node-3", "pod/c"])
        #expect(tunnel.edges == ["pod_a->node_node_1", "node_node_1->vxlan", "node_node_3->vxlan", "pod_c->node_node_3"])
    }

    @Test func aPodInsideAGroupLightsItsGroup() throws {
        let graph = LabGraph(try TopologyBuilder.build(Self.generated(pods: 40, nodes: 2, services: 0)))
        let highlight = graph.highlight(path: ["pod/p0", "node/n1", "pod/p2"])
        #expect(highlight.nodes == ["pods_n1", "node_n1"])
        #expect(highlight.edges == ["pods_n1->node_n1"])
        // An object the graph does not have breaks the path rather than joining across it.
        #expect(graph.highlight(path: ["pod/p0", "pod/nope", "node/n1"]).edges.isEmpty)
    }

    // MARK: - Escaping

    @Test func labelsAreEscapedForEachFormat() {
        #expect(MermaidGraph.escape("a\"b#c<d>") == "a#quot;b#35;c#lt;d#gt;")
        #expect(DOTGraph.quote("a\"b\\c\nd") == "\"a\\\"b\\\\c\\nd\"")
    }

    // MARK: - Support

    static func generated(pods: Int, nodes: Int, services: Int) -> LabFile {
        LabFile(
            name: "g\(pods)",
            nodes: (1...nodes).map { NodeSpec(name: "n\($0)") },
            pods: (0..<pods).map { index in
                PodSpec(name: "p\(index)", node: "n\(index % nodes + 1)",
                        labels: services > 0 ? ["svc": "s\(index % services)"] : [:])
            },
            services: (0..<services).map { index in
                ServiceSpec(name: "s\(index)", selector: ["svc": "s\(index)"], ports: [ServicePortSpec(port: 80, targetPort: .number(8080))])
            })
    }

    static let dotProgram: String? = ["/usr/bin/dot", "/usr/local/bin/dot"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static func run(_ program: String, _ arguments: [String], input: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Write from another thread: dot may fill its output pipe before reading all input.
        let writer = Thread {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    /// Parses the SVG as XML and returns the text of its `<text>` elements.
    @discardableResult
    static func expectXML(_ text: String, _ what: String) throws -> [String] {
        let parser = XMLParser(data: Data(text.utf8))
        let collector = SVGTexts()
        parser.delegate = collector
        let parsed = parser.parse()
        #expect(parsed, "the SVG of \(what) is not XML: \(parser.parserError.map { "\($0)" } ?? "?")")
        #expect(collector.sawSVG, "no <svg> element in the SVG of \(what)")
        return collector.texts
    }
}

/// Collects what an SVG says in its `<text>` elements (entities such as `&#45;` decoded).
private final class SVGTexts: NSObject, XMLParserDelegate {
    var texts: [String] = []
    var sawSVG = false
    private var current: String?

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if elementName == "svg" { sawSVG = true }
        if elementName == "text" { current = "" }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { current? += string }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        if elementName == "text", let current { texts.append(current) }
        if elementName == "text" { current = nil }
    }
}
