/// What the kernel reported for one traced packet: the hops of the request and of the reply,
/// in the order of the namespaces they were seen in, and the conntrack entries of the nodes
/// that translated it. Every field comes from the kernel, never from the model.
public struct ObservedTrace: Sendable, Hashable, Codable {
    public var forward: [TraceHop]
    public var reply: [TraceHop]
    public var conntrack: [ConntrackObservation]
    /// What the sender got back: `SYN-ACK`, `RST`, `echo reply`, `UDP answer`, `ICMP …`, `nothing`.
    public var answer: String
    /// The tuple of the probe: `tcp 10.244.1.2:47113 → 10.96.0.20:80`.
    public var tuple: String
    /// What limited the observation, in words (no events in a namespace, tracing unavailable).
    public var notes: [String]

    public init(forward: [TraceHop], reply: [TraceHop], conntrack: [ConntrackObservation], answer: String, tuple: String, notes: [String]) {
        self.forward = forward
        self.reply = reply
        self.conntrack = conntrack
        self.answer = answer
        self.tuple = tuple
        self.notes = notes
    }
}

/// One conntrack entry, as ctnetlink or `conntrack -L` reports it.
public struct ConntrackObservation: Sendable, Hashable, Codable {
    public var netns: String
    public var object: String
    /// `tcp src=10.244.1.2 dst=10.96.0.20 sport=47113 dport=80`.
    public var original: String
    /// `src=10.244.2.2 dst=10.244.1.2 sport=8080 dport=47113`: a source that differs from the
    /// original destination is the DNAT.
    public var reply: String
    public var state: String?
    /// The endpoint the DNAT chose (`10.244.2.2:8080`), when the reply tuple shows one.
    public var dnatTo: String?

    public init(netns: String, object: String, original: String, reply: String, state: String?, dnatTo: String?) {
        self.netns = netns
        self.object = object
        self.original = original
        self.reply = reply
        self.state = state
        self.dnatTo = dnatTo
    }
}

/// The first place where the kernel and the model disagree.
public struct TraceDivergence: Sendable, Hashable, Codable {
    /// Index into the chosen branch's forward (or reply) hops of the first expected hop not seen.
    public var expectedIndex: Int?
    /// Index into the observed hops where the difference shows (nil: nothing was observed there).
    public var observedIndex: Int?
    public var direction: String
    public var explanation: String
}

/// The answer: delivered (to which endpoint) or not, where it stopped and why, and where the
/// observation first leaves the model.
public struct TraceVerdict: Sendable, Hashable, Codable {
    public var delivered: Bool
    /// The pod, node or host the packet reached.
    public var reached: String?
    /// The index of the expected branch the packet took.
    public var branch: Int
    /// Where it stopped, when it did not arrive: the object and the reason.
    public var stoppedAt: String?
    public var reason: String?
    public var divergence: TraceDivergence?
    public var summary: String
}

public enum TraceComparison {
    /// Puts the kernel's account next to the model's and decides.
    public static func verdict(expected: ExpectedTrace, observed: ObservedTrace) -> TraceVerdict {
        let branch = chooseBranch(expected: expected, observed: observed)
        let path = expected.paths[branch]
        let forwardDivergence = divergence(expected: path.forward, observed: observed.forward, direction: "request")
        let replyDivergence = observed.answer == "nothing" || forwardDivergence != nil
            ? nil : divergence(expected: path.reply, observed: observed.reply, direction: "reply")
        // Taken in by the destination: an input hook that is not a VXLAN decapsulation (the
        // node's own input on the way to a pod behind flannel.1), and no rule stopped it.
        let stopped = observed.forward.contains { $0.verdict != nil }
        let reachedHop = stopped ? nil
            : observed.forward.last { ($0.decision.contains("input") || $0.decision.contains("delivered")) && $0.encap == nil }
        let answered = !["nothing", "timeout"].contains(observed.answer) && !observed.answer.hasPrefix("ICMP host unreachable")
            && !observed.answer.hasPrefix("ICMP net unreachable") && !observed.answer.hasPrefix("error")
        let expectedEnd: String? = {
            if case .delivered(let object, _) = path.outcome { return object }
            return nil
        }()
        // Delivered: the kernel of the destination took the packet in, or the destination's
        // answer came back (the answer is what a client sees; the input hook is the proof).
        let delivered = reachedHop != nil || (!stopped && answered && expectedEnd != nil && forwardDivergence == nil)
        let reached = reachedHop?.object ?? (delivered ? expectedEnd : nil)
        var stoppedAt: String?
        var reason: String?
        if !delivered {
            if let dropHop = observed.forward.last(where: { $0.verdict != nil }) {
                stoppedAt = dropHop.object
                reason = "\(dropHop.verdict!) by \(dropHop.table.map { "\($0) " } ?? "")\(dropHop.chain ?? "")"
                    + (dropHop.rule.map { ": \($0)" } ?? "")
            } else if let last = observed.forward.last {
                stoppedAt = last.object
                let next = forwardDivergence?.expectedIndex.map { path.forward[$0] }
                var why = "nothing was seen after \(last.object)" + (last.out.map { " (out \($0))" } ?? "")
                if last.decision.hasSuffix("prerouting") {
                    why += ": it entered prerouting and was neither forwarded nor taken in — no route"
                } else if let out = last.out {
                    why += ": it left by \(out) and the next namespace never saw it (a link down, or no neighbour answer)"
                }
                if let next { why += "; the model's next hop: \(next.object) \(next.decision)" }
                if observed.answer.hasPrefix("ICMP") || observed.answer.hasPrefix("error") { why += "; the sender got \(observed.answer)" }
                reason = why
            } else {
                stoppedAt = expected.flow.source.name
                reason = "no namespace saw the packet" + (observed.answer == "nothing" ? "" : "; the sender got \(observed.answer)")
            }
        }
        let divergence = forwardDivergence ?? replyDivergence
        var summary: String
        if delivered {
            summary = "delivered to \(reached ?? "?")"
            if let endpoint = path.branch, expected.paths.count > 1 { summary += " — \(endpoint)" }
            summary += ", answered \(observed.answer)"
        } else {
            summary = "not delivered: stopped at \(stoppedAt ?? "?")" + (reason.map { " — \($0)" } ?? "")
        }
        if !delivered, expected.paths.allSatisfy({ !$0.outcome.isDelivered }) {
            // Where the model stops it too, its reason says what the kernel's rule cannot: which
            // NetworkPolicy isolates the pod, and that no rule of it allows the flow.
            if divergence == nil, case .dropped(let object, let why) = path.outcome, object == stoppedAt {
                summary += " (as the model expects: \(why))"
            } else {
                summary += " (as the model expects)"
            }
        }
        return TraceVerdict(delivered: delivered, reached: reached, branch: branch, stoppedAt: stoppedAt, reason: reason,
                            divergence: divergence, summary: summary)
    }

    /// The branch the kernel took: the endpoint conntrack names, else the one whose namespaces
    /// the observed hops follow longest.
    public static func chooseBranch(expected: ExpectedTrace, observed: ObservedTrace) -> Int {
        if expected.paths.count <= 1 { return 0 }
        if let dnat = observed.conntrack.compactMap(\.dnatTo).first,
           let index = expected.paths.firstIndex(where: { $0.branch?.contains("(\(dnat))") == true }) {
            return index
        }
        if let dnat = observed.forward.compactMap(\.nat).first,
           let index = expected.paths.firstIndex(where: { path in path.forward.contains { $0.nat != nil && dnat.hasSuffix(String($0.nat!.split(separator: " ").last ?? "")) } }) {
            return index
        }
        let seen = visits(observed.forward)
        var best = 0
        var bestLength = -1
        for (index, path) in expected.paths.enumerated() {
            let length = commonPrefix(visits(path.forward), seen)
            if length > bestLength { (best, bestLength) = (index, length) }
        }
        return best
    }

    /// The namespaces in the order a packet enters them, repeated visits collapsed.
    static func visits(_ hops: [TraceHop]) -> [String] {
        var result: [String] = []
        for hop in hops where result.last != hop.netns { result.append(hop.netns) }
        return result
    }

    static func commonPrefix(_ a: [String], _ b: [String]) -> Int {
        var count = 0
        while count < a.count, count < b.count, a[count] == b[count] { count += 1 }
        return count
    }

    /// The first expected hop the kernel did not show: a namespace not entered (or another
    /// entered instead), a translation rule that did not fire, or a packet stopped by a rule.
    static func divergence(expected: [TraceHop], observed: [TraceHop], direction: String) -> TraceDivergence? {
        // A drop the model expects (a NetworkPolicy REJECT in the same namespace and chain) is
        // agreement; any other is where the two part.
        if let dropIndex = observed.firstIndex(where: { $0.verdict != nil }),
           !expected.contains(where: { $0.verdict != nil && $0.netns == observed[dropIndex].netns && $0.chain == observed[dropIndex].chain }) {
            let drop = observed[dropIndex]
            let expectedIndex = expected.firstIndex { $0.netns == drop.netns && !$0.isRule } ?? expected.firstIndex { $0.netns == drop.netns }
            return TraceDivergence(expectedIndex: expectedIndex, observedIndex: dropIndex, direction: direction,
                                   explanation: "\(direction): \(drop.verdict!) in \(drop.object) by \(drop.table ?? "") \(drop.chain ?? "")"
                                    + (drop.rule.map { ": \($0)" } ?? "") + " — the model has no such rule")
        }
        let wanted = visits(expected)
        let seen = visits(observed)
        let common = commonPrefix(wanted, seen)
        if common < wanted.count {
            let missing = wanted[common]
            let expectedIndex = expected.firstIndex { $0.netns == missing && visitIndex(of: $0, in: expected) == common }
            let observedIndex = common < seen.count ? observed.firstIndex { $0.netns == seen[common] } : nil
            let hop = expectedIndex.map { expected[$0] }
            var text = "\(direction): expected \(hop?.object ?? missing)"
            if let hop { text += hop.in.map { " in \($0)" } ?? "" ; text += " (\(hop.decision))" }
            if common < seen.count {
                let other = observed[observedIndex!]
                text += ", observed \(other.object)" + (other.in.map { " in \($0)" } ?? "")
            } else if let last = observed.last {
                text += ", observed nothing after \(last.object)" + (last.out.map { " out \($0)" } ?? "")
            } else {
                text += ", observed nothing at all"
            }
            return TraceDivergence(expectedIndex: expectedIndex, observedIndex: observedIndex, direction: direction, explanation: text)
        }
        // Same namespaces: every translation the model expects must have fired.
        for (index, hop) in expected.enumerated() where hop.nat != nil && hop.isRule {
            let fired = observed.contains { $0.netns == hop.netns && $0.chain == hop.chain }
            if !fired {
                return TraceDivergence(expectedIndex: index, observedIndex: nil, direction: direction,
                                       explanation: "\(direction): expected \(hop.object) \(hop.table ?? "") \(hop.chain ?? "") (\(hop.decision)), no such rule fired")
            }
        }
        if seen.count > wanted.count, let index = observed.firstIndex(where: { $0.netns == seen[wanted.count] }) {
            return TraceDivergence(expectedIndex: nil, observedIndex: index, direction: direction,
                                   explanation: "\(direction): the packet went on to \(observed[index].object), which the model does not expect")
        }
        return nil
    }

    static func visitIndex(of hop: TraceHop, in hops: [TraceHop]) -> Int {
        var count = -1
        var last: String?
        for other in hops {
            if other.netns != last { count += 1; last = other.netns }
            if other == hop { return count }
        }
        return count
    }
}
