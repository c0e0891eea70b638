import LabSpec

extension NetworkPolicyIPTables {
    /// One allowed (peer, port) of a rule: the matches of its MARK and RETURN pair.
    private struct PortMatch {
        var proto: String?
        var sets: [String] = []
        var port: [String] = []
    }

    /// `KUBE-NWPLCY-<hash>`: for every rule of every direction the policy isolates, a MARK and
    /// a RETURN per (peer set, port). The target pods are a set too (`KUBE-DST-` as the
    /// destination of ingress, `KUBE-SRC-` as the source of egress), because the chain is
    /// entered from every selected pod's chain on the node.
    static func writePolicyChain(_ policy: NetworkPolicySpec, evaluator: PolicyEvaluator, into filter: inout IPTablesTableText,
                                 sets: inout IPSetScript) {
        let chain = policyChain(policy)
        filter.declare(chain)
        let base = policy.namespace + policy.name
        let targets = evaluator.topology.pods.filter { evaluator.selects(policy, $0) }
        for direction in PolicyType.allCases where policy.isolates(direction) && !policy.rules(direction).isEmpty {
            let targetSet = (direction == .ingress ? "KUBE-DST-" : "KUBE-SRC-") + hash(base)
            sets.add(.init(name: targetSet, kind: .ip, members: targets.map(\.ip.description)))
            let targetMatch = ["-m", "set", "--match-set", targetSet, direction == .ingress ? "dst" : "src"]
            for (index, rule) in policy.rules(direction).enumerated() {
                let ruleBase = base + (direction == .ingress ? "ingressrule" : "egressrule") + String(index)
                let peerMatches = peerMatches(rule, of: policy, direction: direction, ruleBase: ruleBase, evaluator: evaluator, sets: &sets)
                let destinations = direction == .ingress ? targets
                    : rule.peers.map { peerPods($0, of: policy, evaluator: evaluator) } ?? evaluator.topology.pods
                let portMatches = portMatches(rule, destinations: destinations, ruleBase: ruleBase, sets: &sets)
                let comment = direction == .ingress
                    ? "rule to ACCEPT traffic from source pods to dest pods selected by policy name \(policy.name) namespace \(policy.namespace)"
                    : "rule to ACCEPT traffic from source pods selected by policy name \(policy.name) namespace \(policy.namespace) to dest pods"
                for peer in peerMatches {
                    for port in portMatches {
                        let matches = (port.proto.map { ["-p", $0] } ?? []) + ["-m", "comment", "--comment", comment]
                            + targetMatch + peer + port.sets + port.port
                        filter.append(chain, matches + ["-j", "MARK", "--set-xmark", allowedMark])
                        filter.append(chain, matches + ["-m", "mark", "--mark", allowedMark, "-j", "RETURN"])
                    }
                }
            }
        }
    }

    /// The peer side of a rule: no match for "every peer", else a pod set and/or a block set
    /// (none at all when the peers select nothing: the rule then allows nothing).
    private static func peerMatches(_ rule: PolicyRule, of policy: NetworkPolicySpec, direction: PolicyType, ruleBase: String,
                                    evaluator: PolicyEvaluator, sets: inout IPSetScript) -> [[String]] {
        guard let peers = rule.peers else { return [[]] }
        let prefix = direction == .ingress ? "KUBE-SRC-" : "KUBE-DST-", side = direction == .ingress ? "src" : "dst"
        var matches: [[String]] = []
        let pods = peerPods(peers, of: policy, evaluator: evaluator)
        if !pods.isEmpty {
            let name = prefix + hash(ruleBase + "pod")
            sets.add(.init(name: name, kind: .ip, members: pods.map(\.ip.description)))
            matches.append(["-m", "set", "--match-set", name, side])
        }
        var blocks: [String] = []
        for case .ipBlock(let cidr, let except) in peers {
            // hash:net cannot hold a /0: two halves cover it.
            blocks += cidr.prefixLength == 0 ? ["0.0.0.0/1", "128.0.0.0/1"] : [cidr.description]
            blocks += except.map { "\($0) nomatch" }
        }
        if !blocks.isEmpty {
            let name = prefix + hash(ruleBase + "ipblock")
            sets.add(.init(name: name, kind: .net, members: blocks))
            matches.append(["-m", "set", "--match-set", name, side])
        }
        return matches
    }

    /// The pods any of `peers` selects, in file order, each once.
    private static func peerPods(_ peers: [PolicyPeer], of policy: NetworkPolicySpec, evaluator: PolicyEvaluator) -> [PodTopology] {
        let selected = Set(peers.flatMap { evaluator.pods(matching: $0, of: policy).map(\.name) })
        return evaluator.topology.pods.filter { selected.contains($0.name) }
    }

    /// The port side: every port, a number or range, a protocol alone, or a named port split
    /// per number it resolves to on the destination pods (each with the set of those pods).
    private static func portMatches(_ rule: PolicyRule, destinations: [PodTopology], ruleBase: String,
                                    sets: inout IPSetScript) -> [PortMatch] {
        guard !rule.ports.isEmpty else { return [PortMatch()] }
        var matches: [PortMatch] = []
        for (index, port) in rule.ports.enumerated() {
            let proto = port.protocol.rawValue.lowercased()
            switch port.port {
            case nil:
                matches.append(PortMatch(proto: proto))
            case .number(let number):
                matches.append(PortMatch(proto: proto, port: ["-m", proto, "--dport", port.endPort.map { "\(number):\($0)" } ?? "\(number)"]))
            case .name(let name):
                var byNumber: [Int: [PodTopology]] = [:]
                for pod in destinations {
                    if let number = pod.resolve(targetPort: .name(name), protocol: port.protocol) { byNumber[number, default: []].append(pod) }
                }
                for (number, pods) in byNumber.sorted(by: { $0.key < $1.key }) {
                    let set = "KUBE-DST-" + hash(ruleBase + String(index) + String(number) + "namedport")
                    sets.add(.init(name: set, kind: .ip, members: pods.map(\.ip.description)))
                    matches.append(PortMatch(proto: proto, sets: ["-m", "set", "--match-set", set, "dst"],
                                             port: ["-m", proto, "--dport", String(number)]))
                }
            }
        }
        return matches
    }
}
