import LabSpec

/// kube-router's NetworkPolicy layout for one node, as data both renderers project
/// (`NetworkPolicyIPTables`, `NetworkPolicyNFTables`): which local pods get a chain and how
/// they are isolated, each policy's allowed (peer, port) matches, and the address sets those
/// match. Computed from `PolicyEvaluator`'s selections, so the rules and the oracle agree on
/// who is selected; what is allowed is decided again, by the kernel, from these sets.
struct PolicyLayout {
    enum Side: String { case source = "src", destination = "dst" }

    /// An address set: pods (single addresses) or one `ipBlock` (its `cidr`, with its `except`
    /// blocks that do not match).
    struct AddressSet: Equatable {
        var name: String
        var addresses: [String]
        var except: [String] = []
        var isBlock: Bool { !except.isEmpty || addresses.contains { $0.contains("/") } }
    }

    /// A set matched on one side of the packet (a block: and not in its `except`).
    struct SetMatch {
        var set: String
        var side: Side
        var hasExcept = false
    }

    /// One allowed (peer, port): every match must hold.
    struct Allow {
        var policy: NetworkPolicySpec
        var direction: PolicyType
        var proto: String?
        /// `80` or `80:90`; nil for any port.
        var ports: String?
        var sets: [SetMatch]
    }

    struct PodChain {
        var pod: PodTopology
        var ingress: [NetworkPolicySpec]
        var egress: [NetworkPolicySpec]
        /// Every selecting policy, in file order.
        var policies: [NetworkPolicySpec]
    }

    var pods: [PodChain] = []
    var policies: [(policy: NetworkPolicySpec, allows: [Allow])] = []
    var sets: [AddressSet] = []

    static func hash(_ text: String) -> String { KubeProxyHash.base32SHA256(text, length: 16) }

    /// nil when no policy selects a pod of `node`.
    static func make(topology: Topology, node: NodeTopology) -> PolicyLayout? {
        Shared(topology: topology).layout(of: node)
    }

    /// What the layouts of every node share, worked out once per lab rather than once per
    /// node: the evaluator, which pods each policy selects, and each policy's allows and sets
    /// (a policy's chain is the same bytes on every node that has it). At 1,000 pods and 100
    /// policies, working these out per node was most of the time a plan took.
    ///
    /// `eager`: every policy's selection is worked out up front, for plans of every node. A
    /// plan of a few nodes (a policy change) asks each policy only about those nodes' pods,
    /// and works out the whole selection of just the policies present there.
    final class Shared {
        let evaluator: PolicyEvaluator
        /// Per policy, in file order: the indices (in `topology.pods`) of the pods it selects;
        /// nil until asked for, when not eager.
        private var selected: [Set<Int>?]
        /// Per policy and pod group (`PodGroups`), when not eager: 0 not asked yet, 1 not
        /// selected, 2 selected.
        private var selectsGroup: [UInt8]
        private let eager: Bool
        private var allowsByPolicy: [Int: (allows: [Allow], sets: [AddressSet])] = [:]

        init(topology: Topology, eager: Bool = true) {
            let evaluator = PolicyEvaluator(topology: topology)
            self.evaluator = evaluator
            self.eager = eager
            selected = Array(repeating: nil, count: evaluator.policies.count)
            selectsGroup = eager ? [] : Array(repeating: 0, count: evaluator.policies.count * evaluator.groups.groups.count)
            if eager {
                for index in evaluator.policies.indices { _ = selection(index) }
            }
        }

        /// The pods policy `index` selects, by index in `topology.pods`.
        private func selection(_ index: Int) -> Set<Int> {
            if let known = selected[index] { return known }
            let policy = evaluator.policies[index]
            let found = Set(evaluator.groups.pods { evaluator.selects(policy, namespace: $0.namespace, labels: $0.labels) })
            selected[index] = found
            return found
        }

        private func selects(_ policy: Int, pod: Int) -> Bool {
            if eager { return selection(policy).contains(pod) }
            if let known = selected[policy] { return known.contains(pod) }
            let group = evaluator.groups.groupOf[pod], slot = policy * evaluator.groups.groups.count + group
            if selectsGroup[slot] == 0 {
                let members = evaluator.groups.groups[group]
                selectsGroup[slot] = evaluator.selects(evaluator.policies[policy], namespace: members.namespace, labels: members.labels) ? 2 : 1
            }
            return selectsGroup[slot] == 2
        }

        /// nil when no policy selects a pod of `node`. Policies are compared by their index:
        /// comparing whole specs, pod by pod, cost more than the rest of the layout.
        func layout(of node: NodeTopology) -> PolicyLayout? {
            let pods = evaluator.topology.pods, policies = evaluator.policies
            var layout = PolicyLayout()
            var present = Set<Int>()
            for index in pods.indices where pods[index].node == node.name {
                let selecting = policies.indices.filter { selects($0, pod: index) }
                guard !selecting.isEmpty else { continue }
                let ingress = selecting.filter { policies[$0].isolates(.ingress) }
                let egress = selecting.filter { policies[$0].isolates(.egress) }
                layout.pods.append(PodChain(pod: pods[index], ingress: ingress.map { policies[$0] }, egress: egress.map { policies[$0] },
                                            policies: selecting.filter { ingress.contains($0) || egress.contains($0) }.map { policies[$0] }))
                present.formUnion(selecting)
            }
            guard !layout.pods.isEmpty else { return nil }
            for index in policies.indices where present.contains(index) {
                let (allows, sets) = allowsAndSets(index)
                layout.policies.append((policies[index], allows))
                layout.sets += sets
            }
            return layout
        }

        private func allowsAndSets(_ index: Int) -> (allows: [Allow], sets: [AddressSet]) {
            if let known = allowsByPolicy[index] { return known }
            var layout = PolicyLayout()
            let pods = evaluator.topology.pods
            let allows = layout.allows(evaluator.policies[index], targets: selection(index).sorted().map { pods[$0] },
                                       evaluator: evaluator)
            allowsByPolicy[index] = (allows, layout.sets)
            return (allows, layout.sets)
        }
    }

    /// A policy's allows, direction by direction, rule by rule: (peer set or none) × port;
    /// `targets` are the pods it selects, in file order.
    private mutating func allows(_ policy: NetworkPolicySpec, targets: [PodTopology], evaluator: PolicyEvaluator) -> [Allow] {
        let base = policy.namespace + policy.name
        var allows: [Allow] = []
        for direction in PolicyType.allCases where policy.isolates(direction) && !policy.rules(direction).isEmpty {
            let targetSet = (direction == .ingress ? "KUBE-DST-" : "KUBE-SRC-") + Self.hash(base)
            sets.append(AddressSet(name: targetSet, addresses: targets.map(\.ip.description)))
            let target = SetMatch(set: targetSet, side: direction == .ingress ? .destination : .source)
            for (index, rule) in policy.rules(direction).enumerated() {
                let ruleBase = base + (direction == .ingress ? "ingressrule" : "egressrule") + String(index)
                let peers = peerMatches(rule, of: policy, direction: direction, ruleBase: ruleBase, evaluator: evaluator)
                // Only a named port reads the destinations; working them out for an egress rule
                // filters every pod of the lab, which most rules never need.
                var known: [PodTopology]?
                let destinations = { () -> [PodTopology] in
                    if let known { return known }
                    let found = direction == .ingress ? targets
                        : rule.peers.map { Self.peerPods($0, of: policy, evaluator: evaluator) } ?? evaluator.topology.pods
                    known = found
                    return found
                }
                for peer in peers {
                    for port in portMatches(rule, destinations: destinations, ruleBase: ruleBase) {
                        allows.append(Allow(policy: policy, direction: direction, proto: port.proto, ports: port.ports,
                                            sets: [target] + peer + port.sets))
                    }
                }
            }
        }
        return allows
    }

    /// The peer side of a rule: nothing to match for "every peer", else the pods' set and each
    /// block's set (none at all when the peers select nothing: the rule then allows nothing).
    private mutating func peerMatches(_ rule: PolicyRule, of policy: NetworkPolicySpec, direction: PolicyType, ruleBase: String,
                                      evaluator: PolicyEvaluator) -> [[SetMatch]] {
        guard let peers = rule.peers else { return [[]] }
        let prefix = direction == .ingress ? "KUBE-SRC-" : "KUBE-DST-"
        let side: Side = direction == .ingress ? .source : .destination
        var matches: [[SetMatch]] = []
        let addresses = Self.peerAddresses(peers, of: policy, evaluator: evaluator)
        if !addresses.isEmpty {
            let name = prefix + Self.hash(ruleBase + "pod")
            sets.append(AddressSet(name: name, addresses: addresses))
            matches.append([SetMatch(set: name, side: side)])
        }
        // One set per block: an `except` only ever removes addresses from its own block.
        for (index, peer) in peers.enumerated() {
            guard case .ipBlock(let cidr, let except) = peer else { continue }
            let name = prefix + Self.hash(ruleBase + "ipblock" + String(index))
            sets.append(AddressSet(name: name, addresses: [cidr.description], except: except.map(\.description)))
            matches.append([SetMatch(set: name, side: side, hasExcept: !except.isEmpty)])
        }
        return matches
    }

    /// The port side: every port, a number or range, a protocol alone, or a named port split
    /// per number it resolves to on the destination pods (each with the set of those pods),
    /// which `destinations` works out when first asked.
    private mutating func portMatches(_ rule: PolicyRule, destinations: () -> [PodTopology], ruleBase: String)
        -> [(proto: String?, ports: String?, sets: [SetMatch])] {
        guard !rule.ports.isEmpty else { return [(nil, nil, [])] }
        var matches: [(proto: String?, ports: String?, sets: [SetMatch])] = []
        for (index, port) in rule.ports.enumerated() {
            let proto = port.protocol.rawValue.lowercased()
            switch port.port {
            case nil:
                matches.append((proto, nil, []))
            case .number(let number):
                matches.append((proto, port.endPort.map { "\(number):\($0)" } ?? "\(number)", []))
            case .name(let name):
                var byNumber: [Int: [PodTopology]] = [:]
                for pod in destinations() {
                    if let number = pod.resolve(targetPort: .name(name), protocol: port.protocol) { byNumber[number, default: []].append(pod) }
                }
                for (number, pods) in byNumber.sorted(by: { $0.key < $1.key }) {
                    let set = "KUBE-DST-" + Self.hash(ruleBase + String(index) + String(number) + "namedport")
                    sets.append(AddressSet(name: set, addresses: pods.map(\.ip.description)))
                    matches.append((proto, String(number), [SetMatch(set: set, side: .destination)]))
                }
            }
        }
        return matches
    }

    /// The pods any of `peers` selects, in file order, each once.
    static func peerPods(_ peers: [PolicyPeer], of policy: NetworkPolicySpec, evaluator: PolicyEvaluator) -> [PodTopology] {
        peerIndices(peers, of: policy, evaluator: evaluator).map { evaluator.topology.pods[$0] }
    }

    /// The addresses of `peerPods`, without copying the pods: a peer often selects most of
    /// a 1,000-pod lab, and a set needs only their addresses.
    static func peerAddresses(_ peers: [PolicyPeer], of policy: NetworkPolicySpec, evaluator: PolicyEvaluator) -> [String] {
        peerIndices(peers, of: policy, evaluator: evaluator).map { evaluator.topology.pods[$0].ip.description }
    }

    /// The indices (in `topology.pods`) of `peerPods`, each pod group asked once.
    private static func peerIndices(_ peers: [PolicyPeer], of policy: NetworkPolicySpec, evaluator: PolicyEvaluator) -> [Int] {
        evaluator.groups.pods { group in
            peers.contains { evaluator.selects($0, of: policy, namespace: group.namespace, labels: group.labels) }
        }
    }
}
