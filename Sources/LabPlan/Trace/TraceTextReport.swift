import LabSpec

/// `lab trace`'s text: the model's path branch by branch, the kernel's, the conntrack entry
/// and the verdict, one hop per line, the lab's names first — read like the article's
/// walk-through of a packet.
public enum TraceTextReport {
    public static func header(_ expected: ExpectedTrace, lab: String) -> [String] {
        [
            "trace \(expected.flow.summary)",
            "lab \(lab) · proxy \(expected.proxy.rawValue) · network \(expected.mode.rawValue)"
                + (expected.flow.nodePort ? " · NodePort" : ""),
            "assumes a new connection going out (ct state new) and an established one coming back",
        ]
    }

    /// The expected paths: every branch with its probability, request then reply.
    public static func expected(_ expected: ExpectedTrace, mark: TraceDivergence? = nil, markedBranch: Int? = nil) -> [String] {
        var lines: [String] = []
        let forks = expected.paths.count > 1
        lines.append(forks ? "expected: \(expected.paths.count) branches, one per endpoint (kube-proxy picks one per new connection)"
                           : "expected:")
        for (index, path) in expected.paths.enumerated() {
            let indent = forks ? "    " : "  "
            if forks {
                lines.append("  branch \(index + 1)/\(expected.paths.count): \(path.branch ?? "") probability \(path.probability ?? "")")
            }
            let markHere = index == markedBranch ? mark : nil
            for (number, hop) in path.forward.enumerated() {
                let marked = markHere?.direction == "request" && markHere?.expectedIndex == number
                lines.append(indent + line(hop, number: number + 1, marked: marked))
            }
            switch path.outcome {
            case .delivered(let object, let address):
                lines.append(indent + "→ delivered to \(object) (\(address))" + (path.replyKind.map { "; it answers \($0)" } ?? ""))
            case .dropped(let object, let reason):
                lines.append(indent + "→ stops at \(object): \(reason)")
                if let kind = path.replyKind { lines.append(indent + "  the sender gets \(kind)") }
            }
            if !path.reply.isEmpty {
                lines.append(indent + "reply:")
                for (number, hop) in path.reply.enumerated() {
                    let marked = markHere?.direction == "reply" && markHere?.expectedIndex == number
                    lines.append(indent + line(hop, number: number + 1, marked: marked))
                }
            }
        }
        return lines
    }

    public static func observed(_ observed: ObservedTrace, mark: TraceDivergence? = nil) -> [String] {
        var lines = ["observed (the kernel; probe \(observed.tuple)):"]
        if observed.forward.isEmpty { lines.append("  (no namespace reported the request)") }
        let quiet = quietJumps(observed.forward).union(quietJumps(observed.reply).map { $0 + observed.forward.count })
        for (number, hop) in observed.forward.enumerated() where !quiet.contains(number) {
            let marked = mark?.direction == "request" && mark?.observedIndex == number
            lines.append("  " + line(hop, number: number + 1, marked: marked))
        }
        lines.append("  ← the sender got: \(observed.answer)")
        if !observed.reply.isEmpty {
            lines.append("  reply:")
            for (number, hop) in observed.reply.enumerated() where !quiet.contains(number + observed.forward.count) {
                let marked = mark?.direction == "reply" && mark?.observedIndex == number
                lines.append("  " + line(hop, number: number + 1, marked: marked))
            }
        }
        if !quiet.isEmpty {
            lines.append("  (\(quiet.count) jump\(quiet.count == 1 ? "" : "s") into chains where no rule matched left out; -o json lists every event)")
        }
        for note in observed.notes { lines.append("  note: \(note)") }
        if !observed.conntrack.isEmpty {
            lines.append("conntrack:")
            for entry in observed.conntrack {
                lines.append("  \(entry.object): \(entry.original) → reply \(entry.reply)" + (entry.state.map { " [\($0)]" } ?? "")
                             + (entry.dnatTo.map { " (DNAT to \($0))" } ?? ""))
            }
        }
        return lines
    }

    public static func verdict(_ verdict: TraceVerdict) -> [String] {
        var lines = ["verdict: \(verdict.summary)"]
        if let divergence = verdict.divergence {
            lines.append("✗ first difference from the model: \(divergence.explanation)")
        } else {
            lines.append("observed = expected" + (verdict.delivered ? "" : " (up to where it stopped)"))
        }
        return lines
    }

    /// Rule hops that only jumped into a chain in which nothing matched (kube-proxy's filter
    /// chains for a packet they let through): true, but noise in a walk-through.
    static func quietJumps(_ hops: [TraceHop]) -> Set<Int> {
        var quiet: Set<Int> = []
        for (index, hop) in hops.enumerated() where hop.chain != nil && hop.verdict == nil {
            guard hop.decision.hasPrefix("verdict jump ") else { continue }
            let target = String(hop.decision.dropFirst("verdict jump ".count))
            let next = index + 1 < hops.count ? hops[index + 1] : nil
            if next?.chain != target || next?.netns != hop.netns { quiet.insert(index) }
        }
        return quiet
    }

    /// `  3 node-1        in veth1a2b3c4d  out eth0      route 10.244.2.0/24 via 192.168.1.11 dev eth0`
    static func line(_ hop: TraceHop, number: Int, marked: Bool) -> String {
        var text = (marked ? "✗" : " ") + pad("\(number)", 3) + " " + pad(hop.object, 19)
        let ports = [hop.in.map { "in \($0)" }, hop.out.map { "out \($0)" }].compactMap { $0 }.joined(separator: " ")
        text += " " + pad(ports, 34) + " "
        if let chain = hop.chain {
            text += "\(hop.table ?? "") \(chain): "
            text += hop.rule ?? hop.decision
            if hop.rule != nil { text += "   # \(hop.decision)" }
        } else {
            text += hop.decision
        }
        if let nat = hop.nat { text += "   [\(nat)]" }
        if let encap = hop.encap { text += "   [\(encap)]" }
        if let verdict = hop.verdict { text += "   ⇒ \(verdict.uppercased())" }
        return text
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
