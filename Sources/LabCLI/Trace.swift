import ArgumentParser
import Foundation
import LabPlan
import LabRuntime

struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the path of one packet, hop by hop: what the lab should do, and what the kernel did.",
        discussion: """
        The expected path is computed from the lab's model without touching the kernel: in each \
        namespace the route that matched, the bridge port, the kube-proxy rule (as iptables-save \
        or nft list prints it), the DNAT with every endpoint a service may pick, masquerade, the \
        VXLAN encapsulation — and the reply with its un-NAT.

        Then one real packet of the flow is sent from FROM (a TCP SYN to --port, a UDP datagram, \
        or an ICMP echo), from a source port no other traffic uses. A temporary nftables table \
        (`table inet lab_trace`) marks it with `meta nftrace set 1` in every namespace it may \
        cross, one listener per namespace collects the kernel's trace events, and the conntrack \
        entry of the node that translated it is read. The table, the listeners and the conntrack \
        entries are removed afterwards.

        On a node that holds a pod some NetworkPolicy selects, the expected path goes through \
        kube-router's chains: the pod's KUBE-POD-FW chain, the KUBE-NWPLCY rule that allows the \
        flow, or the REJECT that stops it with the policies that isolate the pod.

        The verdict says whether it was delivered (and to which endpoint) or where it stopped and \
        why, and marks with ✗ the first hop where the kernel and the model disagree.

          lab trace pod-a pod-b                     one node: cni0 switches it
          lab trace pod-a web-2                     two nodes: node-1 routes it
          lab trace pod-a multi-container-pod       two networks: the fabric routes
          lab trace pod-a service/web --port 80     DNAT, conntrack, un-NAT
          lab trace laptop service/web --node-port --port 30080
          lab trace web-2 pod-a --port 9001 --protocol udp -o json

        --graph draws the lab (as `lab graph` does) with the path over it: the expected path \
        dashed blue (the branch the kernel took, or every branch with --expected-only), the \
        observed one green where it goes elsewhere, and the first hop where they disagree thick \
        red. --format picks mermaid, dot, svg or json; --output FILE writes the picture there and \
        prints the report as well.

          lab trace pod-a service/web --port 80 --graph -f svg -o trace.svg
          lab trace pod-a web-2 --graph -f dot --expected-only | dot -Tpng > path.png

        FROM is a pod, node or host; TO is a pod, node, host, service/NAME or an IPv4 address. \
        The protocol is tcp when a port is given, icmp otherwise; a service with one port \
        needs no --port.

        By hand, the same events: `ip netns exec lab.LAB.node.NODE nft monitor trace` (or \
        `xtables-monitor --trace`) while a rule with `meta nftrace set 1` is in place.

        Exit codes: 0 delivered, 1 not delivered (or a name that matches nothing), 3 missing \
        privilege or tool, 64 bad usage.
        """
    )

    @OptionGroup var lab: LabOption

    @Argument(help: "Where the packet starts: a pod, node or host (pod-a, node/node-1, host/laptop).")
    var from: String

    @Argument(help: "Where it goes: a pod, node, host, service/NAME or an IPv4 address.")
    var to: String

    @Option(help: "The destination port (the service port, or the NodePort with --node-port).")
    var port: Int?

    @Option(name: .customLong("protocol"), help: "tcp, udp or icmp (default: tcp with --port, icmp without).")
    var proto: TraceProtocol?

    @Flag(help: "Reach the service on its NodePort at a node's IP instead of its ClusterIP.")
    var nodePort = false

    @Option(help: "With --node-port: the node whose IP to use (default: the first node).")
    var via: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("text or json; with --graph, the file to write the picture to.",
                                                   valueName: "text|json|file"))
    var output: String?

    @Flag(help: "Draw the lab with the traced path highlighted instead of printing the report (see --format).")
    var graph = false

    @Option(name: .shortAndLong, help: "With --graph: mermaid (the default), dot, svg or json.")
    var format: GraphFormat?

    @Flag(help: "Only the expected path: compute it from the model, send nothing (no root needed).")
    var expectedOnly = false

    func validate() throws {
        if !graph, format != nil { throw ValidationError("--format is the picture's format: give --graph too") }
        if !graph, let output, OutputFormat(rawValue: output) == nil {
            throw ValidationError("--output must be text or json (or, with --graph, the file to write the picture to): got '\(output)'")
        }
    }

    /// The report's format; with `--graph`, `--output` names the picture's file instead.
    var reportFormat: OutputFormat { graph ? .text : output.flatMap(OutputFormat.init(rawValue:)) ?? .text }

    func run() throws {
        let name = try lab.resolve()
        let topology = try LabController.topology(of: name)
        let request = TraceRequest(from: from, to: to, port: port, protocol: proto, nodePort: nodePort, viaNode: via)
        let flow = try TraceFlow.resolve(request, in: topology)
        let expected = ExpectedPath.walk(flow, in: topology)
        if expectedOnly {
            try finish(lab: name, topology: topology, expected: expected, observed: nil, verdict: nil)
            return
        }
        try Privileges.check()
        let observed = try TraceSession.observe(expected, topology: topology)
        let verdict = TraceComparison.verdict(expected: expected, observed: observed)
        try finish(lab: name, topology: topology, expected: expected, observed: observed, verdict: verdict)
        if !verdict.delivered { throw ExitCode(1) }
    }

    /// Prints the report, or with `--graph` draws the picture: to stdout alone (so it pipes into
    /// `dot`), or to `--output FILE` with the text report on stdout.
    func finish(lab: String, topology: Topology, expected: ExpectedTrace, observed: ObservedTrace?, verdict: TraceVerdict?) throws {
        guard graph else {
            emit(lab: lab, expected: expected, observed: observed, verdict: verdict)
            return
        }
        let picture = LabGraph(topology)
        let highlights = TraceGraph.highlights(picture, topology: topology, expected: expected, observed: observed, verdict: verdict)
        try GraphFormat.emit(try (format ?? .mermaid).render(picture, highlights: highlights), to: output)
        if output != nil { emit(lab: lab, expected: expected, observed: observed, verdict: verdict) }
    }

    func emit(lab: String, expected: ExpectedTrace, observed: ObservedTrace?, verdict: TraceVerdict?) {
        switch reportFormat {
        case .text:
            var lines = TraceTextReport.header(expected, lab: lab)
            lines.append("")
            lines += TraceTextReport.expected(expected, mark: verdict?.divergence, markedBranch: verdict?.branch)
            if let observed {
                lines.append("")
                lines += TraceTextReport.observed(observed, mark: verdict?.divergence)
            }
            if let verdict {
                lines.append("")
                lines += TraceTextReport.verdict(verdict)
            }
            print(lines.joined(separator: "\n"))
        case .json:
            let report = TraceJSONReport(lab: lab, expected: expected, observed: observed, verdict: verdict)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: (try? encoder.encode(report)) ?? Data(), as: UTF8.self))
        }
    }
}

extension TraceProtocol: ExpressibleByArgument {}

/// `lab trace -o json`: hops as objects under `expected` (one entry per branch), `observed`,
/// `conntrack` and `verdict`.
struct TraceJSONReport: Encodable {
    struct Flow: Encodable {
        var from: String
        var to: String
        var `protocol`: String
        var destination: String
        var port: Int?
        var nodePort: Bool
    }
    struct Branch: Encodable {
        var branch: String?
        var probability: String?
        var endpoint: String?
        var forward: [TraceHop]
        var reply: [TraceHop]
        var outcome: String
        var replyKind: String?
    }
    struct Observed: Encodable {
        var tuple: String
        var forward: [TraceHop]
        var reply: [TraceHop]
        var answer: String
        var notes: [String]
    }

    var lab: String
    var proxy: String
    var network: String
    var flow: Flow
    var expected: [Branch]
    var observed: Observed?
    var conntrack: [ConntrackObservation]?
    var verdict: TraceVerdict?

    init(lab: String, expected: ExpectedTrace, observed: ObservedTrace?, verdict: TraceVerdict?) {
        self.lab = lab
        proxy = expected.proxy.rawValue
        network = expected.mode.rawValue
        let flow = expected.flow
        self.flow = Flow(from: flow.source.name, to: flow.target.name, protocol: flow.protocol.rawValue,
                         destination: "\(flow.destination)", port: flow.port, nodePort: flow.nodePort)
        self.expected = expected.paths.map { path in
            let outcome: String
            switch path.outcome {
            case .delivered(let object, let address): outcome = "delivered to \(object) (\(address))"
            case .dropped(let object, let reason): outcome = "stops at \(object): \(reason)"
            }
            return Branch(branch: path.branch, probability: path.probability, endpoint: path.endpoint, forward: path.forward,
                          reply: path.reply, outcome: outcome, replyKind: path.replyKind)
        }
        self.observed = observed.map { Observed(tuple: $0.tuple, forward: $0.forward, reply: $0.reply, answer: $0.answer, notes: $0.notes) }
        conntrack = observed?.conntrack
        self.verdict = verdict
    }
}
