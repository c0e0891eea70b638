import LabKernel
import LabPlan
import LabSpec

/// Turns the kernel's trace events of every namespace into hops: one hop per pass of the
/// packet through a namespace (the device it came in by, the one it left by, the hooks it
/// crossed, the translation seen between its first and last header) and one per netfilter
/// rule that matched it. Namespaces deliver their events on separate sockets with no common
/// clock, so passes are put in the order of the model's path; a namespace the model does not
/// visit comes after those it does.
struct ObservedPath {
    /// The events of one namespace, in the order its listener read them.
    struct NamespaceEvents {
        var netns: String
        var object: String
        var events: [NFTraceEvent]
        /// ifindex → name in that namespace.
        var interfaces: [UInt32: String]
    }

    /// The rule a `(family, table, chain, handle)` names, in the words of the tool that lists it.
    var ruleText: (_ family: String, _ table: String, _ chain: String, _ handle: UInt64) -> String? = { _, _, _, _ in nil }

    let flow: TraceFlow
    let probePort: Int

    /// One packet's pass through one namespace.
    struct Pass {
        var netns: String
        var object: String
        var events: [NFTraceEvent] = []
        var first: TracedPacketHeader?
        var last: TracedPacketHeader?
        var isForward = true
        var outerVXLAN = false
        var vni: Int?
        /// The packet left the namespace or was taken in (postrouting, input, a bridge port).
        var left = false
    }

    func passes(of namespace: NamespaceEvents) -> [Pass] {
        var passes: [Pass] = []
        var open: [String: Int] = [:]
        var headerByID: [UInt32: TracedPacketHeader] = [:]
        for event in namespace.events {
            var header = headerByID[event.id]
            if let network = event.networkHeader, let parsed = TracedPacketHeader(network: network, transport: event.transportHeader) {
                header = parsed
                headerByID[event.id] = parsed
            }
            guard let header else { continue }
            // A pass is one packet: its IP identification with the TCP flags or ICMP type. Not
            // the trace id: it hashes the input device too, so it changes when a bridge hands
            // a frame to the IP stack, and the kernel reuses it for later packets. The
            // identification survives NAT, so a pass keeps its key through DNAT and SNAT.
            let key = "\(header.identification)/\(header.flags ?? 0)/\(header.protocol)/\(header.destinationPort == 8472 ? "vxlan" : "")"
            let index: Int
            // The same packet entering again (a fabric that switches it, then routes it back
            // out of the bridge) is a new pass: a setter hook after the packet had left.
            // Only the first event of a hook's run carries the headers, so that is where a pass
            // may start again; the hooks a packet enters by are prerouting (bridge or IP) and
            // the IP output of a locally sent packet.
            let entersHook = event.networkHeader != nil && event.table.hasPrefix(TraceRuleset.table)
                && (event.chain == "mark-prerouting" || (event.chain == "mark-output" && event.family != 7))
            let reenters = entersHook && open[key].map { passes[$0].left } == true
            if let existing = open[key], !reenters {
                index = existing
            } else {
                passes.append(Pass(netns: namespace.netns, object: namespace.object))
                index = passes.count - 1
                open[key] = index
                passes[index].first = header
            }
            passes[index].events.append(event)
            passes[index].last = header
            if event.table.hasPrefix(TraceRuleset.table), ["seen-postrouting", "seen-input", "mark-forward"].contains(event.chain)
                || (event.family == 7 && event.chain == "mark-output") {
                passes[index].left = true
            }
            if header.protocol == 17, header.destinationPort == 8472, let transport = event.transportHeader, transport.count >= 15 {
                passes[index].outerVXLAN = true
                passes[index].vni = Int(transport[12]) << 16 | Int(transport[13]) << 8 | Int(transport[14])
            }
        }
        // Another trace of the lab at the same time marks its own packets with its own table
        // (a marked packet then shows in every table's chains, ours too: only a rule of ours
        // matching it makes it ours — a rule event with a handle; the end of a chain is
        // reported as a rule event without one).
        let ours = TraceRuleset.tableName(port: probePort)
        return passes.filter { pass in
            isProbe(pass) && pass.events.contains { $0.table == ours && $0.kind == .rule && $0.handle != nil }
        }.map { pass in
            var pass = pass
            pass.isForward = isForward(pass)
            return pass
        }
    }

    /// Only the probe itself and its answer: a TCP SYN, SYN-ACK or RST (not the handshake's
    /// ACK), a UDP datagram, an ICMP echo or error.
    func isProbe(_ pass: Pass) -> Bool {
        guard let header = pass.first else { return false }
        if pass.outerVXLAN { return true }
        switch header.protocol {
        case 6: return (header.flags ?? 0) & 0x06 != 0
        case 17, 1: return true
        default: return false
        }
    }

    func isForward(_ pass: Pass) -> Bool {
        guard let header = pass.first else { return true }
        if pass.outerVXLAN {
            // The outer header alone does not say which way the inner packet goes: the model's
            // encapsulation does (from the source's node toward the destination's).
            let outer = "vxlan \(header.sourceText) → \(header.destinationText)"
            return forwardEncaps.contains { $0.hasPrefix(outer) } || !replyEncaps.contains { $0.hasPrefix(outer) }
        }
        switch header.protocol {
        case 6: return (header.flags ?? 0) & 0x12 == 0x02
        case 1: return header.flags == 8
        default:
            if Int(header.destinationPort ?? 0) == probePort { return false }
            if Int(header.sourcePort ?? 0) == probePort { return true }
            return Int(header.tos >> 2) == TraceRuleset.dscp(port: probePort)
        }
    }

    var forwardEncaps: [String] = []
    var replyEncaps: [String] = []

    init(flow: TraceFlow, probePort: Int, expected: ExpectedTrace) {
        self.flow = flow
        self.probePort = probePort
        forwardEncaps = expected.paths.flatMap { $0.forward.compactMap(\.encap) }
        replyEncaps = expected.paths.flatMap { $0.reply.compactMap(\.encap) }
    }

    /// The hops of one pass: the rules that matched, then the pass itself.
    func hops(of pass: Pass, interfaces: [UInt32: String]) -> [TraceHop] {
        var hops: [TraceHop] = []
        var hooks: [String] = []
        var inputInterface: UInt32?
        var outputInterface: UInt32?
        var bridged = false
        var bridgeInput: UInt32?
        var bridgeOutput: UInt32?
        for event in pass.events {
            if inputInterface == nil, let index = event.inputInterface, index != 0 { inputInterface = index }
            if let index = event.outputInterface, index != 0 { outputInterface = index }
            if event.family == 7 {
                // The bridge family sees the ports (a pod's veth), the IP hooks only the bridge.
                if bridgeInput == nil, let index = event.inputInterface, index != 0 { bridgeInput = index }
                if let index = event.outputInterface, index != 0 { bridgeOutput = index }
            }
            if event.table.hasPrefix(TraceRuleset.table) {
                let hook = Self.hookName(event.chain, bridge: event.family == 7)
                if event.family == 7 { bridged = true }
                if hooks.last != hook { hooks.append(hook) }
                continue
            }
            let family = Self.familyName(event.family)
            switch event.kind {
            case .rule where event.handle == nil && event.verdictCode == -1:
                // The end of a chain reached by a jump: the walk goes on in the calling chain.
                continue
            case .rule:
                let text = ruleText(family, event.table, event.chain, event.handle ?? 0)
                let dropped = event.verdictCode == 0
                let rejects = dropped && (text?.contains("REJECT") == true || text?.contains("reject") == true)
                hops.append(TraceHop(netns: pass.netns, object: pass.object,
                                     in: event.inputInterface.flatMap { interfaces[$0] }, out: event.outputInterface.flatMap { interfaces[$0] },
                                     decision: "verdict \(event.verdict)", rule: text ?? "rule handle \(event.handle ?? 0)",
                                     table: event.table, chain: event.chain,
                                     verdict: dropped ? (rejects ? "reject" : "drop") : nil))
            case .policy where event.verdictCode == 0 || event.policy == 0:
                hops.append(TraceHop(netns: pass.netns, object: pass.object, decision: "policy drop",
                                     rule: "policy drop", table: event.table, chain: event.chain, verdict: "drop"))
            default:
                continue
            }
        }
        if let bridgeInput { inputInterface = bridgeInput }
        if let bridgeOutput, hooks.contains("bridge forward") || hooks.contains("bridge output") { outputInterface = bridgeOutput }
        var hop = TraceHop(netns: pass.netns, object: pass.object,
                           in: inputInterface.map { interfaces[$0] ?? "if\($0)" },
                           out: outputInterface.map { interfaces[$0] ?? "if\($0)" },
                           decision: hooks.joined(separator: " → ") + (bridged && hooks.allSatisfy { $0.hasPrefix("bridge") } ? " (switched)" : ""))
        if let first = pass.first, let last = pass.last {
            var translations: [String] = []
            let firstDst = endpoint(first.destinationText, first.destinationPort, first.icmpID)
            let lastDst = endpoint(last.destinationText, last.destinationPort, last.icmpID)
            let firstSrc = endpoint(first.sourceText, first.sourcePort, first.icmpID)
            let lastSrc = endpoint(last.sourceText, last.sourcePort, last.icmpID)
            let word = pass.isForward ? ("DNAT", "SNAT") : ("un-SNAT", "un-DNAT")
            if firstDst != lastDst { translations.append("\(word.0) dst \(firstDst) → \(lastDst)") }
            if firstSrc != lastSrc { translations.append("\(word.1) src \(firstSrc) → \(lastSrc)") }
            if !translations.isEmpty { hop.nat = translations.joined(separator: "; ") }
            if pass.outerVXLAN {
                // Sent from here (output), taken in here for flannel.1 (input), or passing through.
                let direction = hooks.contains("output") ? "vxlan" : hooks.contains("input") ? "vxlan decap" : "vxlan (outer header)"
                hop.encap = "\(direction) \(first.sourceText) → \(first.destinationText) udp 8472 vni \(pass.vni ?? 0)"
            }
        }
        hops.append(hop)
        return hops
    }

    func endpoint(_ address: String, _ port: UInt16?, _ icmpID: UInt16?) -> String {
        if let port { return "\(address):\(port)" }
        return address
    }

    static func hookName(_ chain: String, bridge: Bool) -> String {
        let hook: String
        switch chain {
        case "mark-prerouting": hook = "prerouting"
        case "mark-output": hook = "output"
        case "mark-forward": hook = "forward"
        case "seen-input": hook = "input"
        case "seen-forward": hook = "forward"
        case "seen-postrouting": hook = "postrouting"
        default: hook = chain
        }
        return bridge ? "bridge \(hook)" : hook
    }

    static func familyName(_ family: UInt8) -> String {
        switch family {
        case 1: return "inet"
        case 2: return "ip"
        case 7: return "bridge"
        case 10: return "ip6"
        default: return "family\(family)"
        }
    }

    /// Every namespace's passes, split by direction and put in the order of the model's visits
    /// (`forwardOrder`, `replyOrder`: namespaces as the model enters them, a namespace entered
    /// twice listed twice): the k-th pass through a namespace takes the k-th visit.
    func build(_ namespaces: [NamespaceEvents], forwardOrder: [String], replyOrder: [String]) -> (forward: [TraceHop], reply: [TraceHop]) {
        var forward: [(Int, Int, [TraceHop])] = []
        var reply: [(Int, Int, [TraceHop])] = []
        var sequence = 0
        for namespace in namespaces {
            var counts = (forward: 0, reply: 0)
            for pass in passes(of: namespace) {
                let hops = self.hops(of: pass, interfaces: namespace.interfaces)
                sequence += 1
                let order = pass.isForward ? forwardOrder : replyOrder
                let occurrences = order.indices.filter { order[$0] == namespace.netns }
                let k = pass.isForward ? counts.forward : counts.reply
                let position = occurrences.isEmpty ? Int.max : occurrences[min(k, occurrences.count - 1)]
                if pass.isForward {
                    counts.forward += 1
                    forward.append((position, sequence, hops))
                } else {
                    counts.reply += 1
                    reply.append((position, sequence, hops))
                }
            }
        }
        func ordered(_ items: [(Int, Int, [TraceHop])]) -> [TraceHop] {
            items.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.flatMap(\.2)
        }
        return (ordered(forward), ordered(reply))
    }
}
