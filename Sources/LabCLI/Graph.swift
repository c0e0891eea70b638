import ArgumentParser
import Foundation
import LabPlan
import LabRuntime
import LabSpec

enum GraphFormat: String, ExpressibleByArgument, CaseIterable {
    case mermaid, dot, svg, json

    /// The picture in this format, with `highlights` drawn in order: what `lab graph` prints,
    /// and what a command that draws a path over the lab (a trace) prints as well.
    func render(_ graph: LabGraph, highlights: [GraphHighlight] = []) throws -> String {
        switch self {
        case .mermaid: return MermaidGraph.render(graph, highlights: highlights)
        case .dot: return DOTGraph.render(graph, highlights: highlights)
        case .json: return GraphJSON.render(graph, highlights: highlights)
        case .svg: return try Graphviz.svg(from: DOTGraph.render(graph, highlights: highlights))
        }
    }

    /// Prints `text`, or writes it whole to `path`, a failure naming the file and the OS's reason.
    static func emit(_ text: String, to path: String?) throws {
        guard let path else {
            print(text, terminator: "")
            return
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RuntimeError.io(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw RuntimeError.io(operation: "write", path: path, errno: errno)
            }
            bytes = bytes.dropFirst(written)
        }
    }
}

struct Graph: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a lab: networks, the fabric, nodes with their pods, hosts, services and their endpoints.",
        discussion: """
        The picture comes from the lab's model alone, so a lab file draws without root and \
        without building anything (as `lab up --dry-run` plans it), and a running lab draws from \
        the topology it was built with: the two pictures of one file are the same.

        Each node is a box around its pods; networks sit in the fabric that routes between them \
        (and, in routed mode, to every podCIDR); in vxlan mode every node's flannel.1 joins one \
        overlay box. A service points to the pods that serve it, with the pod's port. A node with \
        more pods than --pods-per-node draws them as one box: the range of their addresses and \
        their labels with counts, so a lab of hundreds of pods stays readable.

        --path draws in red the boxes and links a walk through the lab visits: pod/NAME, \
        node/NAME, host/NAME, network/NAME, service/NAME, fabric, overlay. Consecutive objects \
        need not be neighbours; the fewest links between them are drawn.

        Formats: mermaid (the default: paste it into a ```mermaid fence of a README), dot (for \
        Graphviz), svg (dot's drawing of the dot output; needs Graphviz: apt-get install \
        graphviz), json (the model, for other tools; its shape is named by its "format" key).

        Which lab: a FILE (a path, or any name that is not a lab's) or a LAB that is up; with \
        neither, the only lab that is up, else ./lab.yaml, else the built-in demo.

          lab graph labs/demo.yaml                  # Mermaid; no root needed
          lab graph demo -f svg -o demo.svg         # the running lab demo
          lab graph -f dot | dot -Tpng > lab.png
          lab graph big.yaml --pods-per-node 0      # pods as one box per node
          lab graph --path pod/pod-a,node/node-1,fabric,node/node-3
        """
    )

    @Argument(help: ArgumentHelp("A lab file, or a lab that is up (default: the only lab up, else ./lab.yaml, else the demo).",
                                 valueName: "lab-or-file"),
              completion: .file(extensions: ["yaml", "yml"]))
    var target: String?

    @OptionGroup var lab: LabOption

    @Option(name: .shortAndLong, help: "mermaid, dot, svg or json.")
    var format: GraphFormat = .mermaid

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the picture to this file instead of stdout.", valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("Draw a node's pods one box each up to this many; above it, one box for all of them.", valueName: "n"))
    var podsPerNode: Int = LabGraph.defaultPodsPerNode

    @Option(help: ArgumentHelp("Draw a path in red: the objects it visits, comma-separated (pod/pod-a,node/node-1,network/rack-1,fabric,…).",
                               valueName: "objects"))
    var path: String?

    func validate() throws {
        if target != nil, lab.lab != nil {
            throw ValidationError("give either a lab file or lab name as the argument, or --lab, not both")
        }
        if podsPerNode < 0 { throw ValidationError("--pods-per-node must be 0 or more") }
    }

    func run() throws {
        let graph = LabGraph(try subject(), podsPerNode: podsPerNode)
        var highlights: [GraphHighlight] = []
        if let path {
            let objects = path.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let unknown = objects.filter { graph.nodeID(for: $0) == nil }
            if !unknown.isEmpty {
                let known = graph.nodes.compactMap(\.object) + graph.nodes.flatMap { $0.members.map { "pod/\($0)" } }
                throw ValidationError("--path: lab \(graph.lab) has no \(unknown.joined(separator: ", ")) (it has: \(known.prefix(20).joined(separator: ", "))\(known.count > 20 ? ", …" : ""))")
            }
            highlights.append(graph.highlight(path: objects))
        }
        try GraphFormat.emit(try format.render(graph, highlights: highlights), to: output)
    }

    /// The topology to draw: a running lab's as saved when it was built, or a file's as it
    /// would be built (validated; every name and address settled; nothing touched).
    private func subject() throws -> Topology {
        if let name = lab.lab { return try LabController.topology(of: LabController.resolveLab(name)) }
        guard let target else {
            let up = LabController.labsUp()
            if up.count == 1 { return try LabController.topology(of: up[0]) }
            if up.count > 1 { throw LookupError.ambiguousLab(up) }
            return try topology(of: LabSource.resolve(nil))
        }
        // Lab names are [a-z0-9-]: anything else is a path. A name that is also a file is the
        // lab when that lab is up.
        if NameRules.labName(target) == nil {
            let up = LabController.labsUp()
            if up.contains(target) || !FileManager.default.fileExists(atPath: target) {
                return try LabController.topology(of: LabController.resolveLab(target))
            }
        }
        return try topology(of: LabSource.resolve(target))
    }

    private func topology(of source: LabSource) throws -> Topology {
        let loaded = try LabFileLoader.parse(source.text, file: source.name)
        for warning in loaded.warnings { ErrorReporting.printError(warning.description) }
        return try TopologyBuilder.build(loaded.lab)
    }
}
