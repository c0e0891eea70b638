import LabAddress
import LabSpec

/// The NetworkPolicy spec as a function: "may this source reach that destination on this
/// port?". It reads only the lab's pods, namespaces and policies — never the rules rendered for
/// the kernel — so `lab verify` can hold the kernel's behaviour against it as an independent
/// oracle (docs/architecture.md, "NetworkPolicy").
///
/// Semantics, as `networking.k8s.io/v1` states them:
/// - a pod is isolated for a direction once a policy selecting it lists that direction in
///   `policyTypes`; policies are additive (allowed = the union of every selecting policy's
///   rules); a connection needs egress allowed at the client and ingress at the server;
/// - a rule matches when any of its peers AND any of its ports match; no peers or no ports
///   match everything;
/// - a named port resolves on the destination pod (the server for ingress, the peer for
///   egress);
/// - a service is judged on the endpoint it was DNATed to: callers pass the endpoint pod and
///   its target port.
///
/// Where the spec leaves it open, lab follows kube-router: traffic from the destination pod's
/// own node is allowed (kubelet probes), and a pod's traffic to itself is never filtered.
public struct PolicyEvaluator: Sendable {
    /// One end of a connection: a pod of the lab, or an address (a node, a host, anything).
    public enum Endpoint: Sendable, Hashable, CustomStringConvertible {
        case pod(String)
        case address(IPv4Address)

        public var description: String {
            switch self {
            case .pod(let name): return name
            case .address(let address): return address.description
            }
        }
    }

    public struct Verdict: Sendable, Hashable {
        public var allowed: Bool
        /// Why, one clause per direction that was judged: the policy and rule that allowed it,
        /// or the policies that isolate the pod when nothing did.
        public var reasons: [String]
    }

    public let topology: Topology
    public let policies: [NetworkPolicySpec]
    /// The pods by namespace and labels, for asking a selector about every pod.
    public let groups: PodGroups
    private let namespaceLabels: [String: [String: String]]
    /// Indices in `topology.pods`: a dictionary of the pods' whole records cost more to build
    /// than a change of one policy may take at 1,000 pods.
    private let podsByName: [String: Int]
    private let podsByIP: [IPv4Address: Int]

    public init(topology: Topology, policies: [NetworkPolicySpec], namespaces: [NamespaceSpec]) {
        self.topology = topology
        self.policies = policies
        var labels: [String: [String: String]] = [:]
        for namespace in namespaces { labels[namespace.name] = namespace.effectiveLabels }
        namespaceLabels = labels
        let pods = topology.pods
        groups = PodGroups(pods)
        podsByName = Dictionary(pods.indices.map { (pods[$0].name, $0) }, uniquingKeysWith: { first, _ in first })
        podsByIP = Dictionary(pods.indices.map { (pods[$0].ip, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The labels a `namespaceSelector` sees for a namespace, listed in the file or not.
    public func labels(ofNamespace name: String) -> [String: String] {
        namespaceLabels[name] ?? NamespaceSpec(name: name).effectiveLabels
    }

    /// The policies that select `pod` and isolate it in `direction`, in file order.
    public func isolating(_ pod: PodTopology, _ direction: PolicyType) -> [NetworkPolicySpec] {
        policies.filter { $0.isolates(direction) && selects($0, pod) }
    }

    /// Whether the policy applies to the pod: same namespace, and its `podSelector` matches.
    public func selects(_ policy: NetworkPolicySpec, _ pod: PodTopology) -> Bool {
        selects(policy, namespace: pod.namespace, labels: pod.labels)
    }

    /// `selects` from the two fields it reads: passing a pod of an array copies the whole
    /// record, which is most of the cost when every pod of a large lab is asked.
    func selects(_ policy: NetworkPolicySpec, namespace: String, labels: [String: String]) -> Bool {
        Self.selects(policy, namespace: namespace, labels: labels)
    }

    /// `selects`, which reads nothing of the lab but the pod.
    static func selects(_ policy: NetworkPolicySpec, namespace: String, labels: [String: String]) -> Bool {
        namespace == policy.namespace && policy.podSelector.matches(labels)
    }

    public func verdict(from source: Endpoint, to destination: Endpoint, protocol proto: TransportProtocol, port: Int) -> Verdict {
        let sourcePod = pod(source)
        let destinationPod = pod(destination)
        if let sourcePod, sourcePod.name == destinationPod?.name {
            return Verdict(allowed: true, reasons: ["a pod's traffic to itself is not filtered"])
        }
        var reasons: [String] = []
        var allowed = true
        if let sourcePod {
            let (ok, reason) = judge(sourcePod, .egress, peer: destination, destinationPod: destinationPod, proto: proto, port: port)
            allowed = allowed && ok
            reasons.append(reason)
        }
        if let destinationPod {
            let (ok, reason) = judgeIngress(destinationPod, from: source, proto: proto, port: port)
            allowed = allowed && ok
            reasons.append(reason)
        }
        return Verdict(allowed: allowed, reasons: reasons)
    }

    /// One direction alone, as one node's pod chain judges it: egress of `pod` towards `peer`,
    /// or ingress of `pod` from `peer` (a trace needs to know which of the two pod chains on
    /// its path rejects). `verdict` is both directions together.
    public func verdict(of pod: PodTopology, _ direction: PolicyType, peer: Endpoint, destination: Endpoint,
                        protocol proto: TransportProtocol, port: Int) -> Verdict {
        let (allowed, reason) = direction == .ingress
            ? judgeIngress(pod, from: peer, proto: proto, port: port)
            : judge(pod, .egress, peer: peer, destinationPod: self.pod(destination), proto: proto, port: port)
        return Verdict(allowed: allowed, reasons: [reason])
    }

    // MARK: Directions

    private func judgeIngress(_ pod: PodTopology, from source: Endpoint, proto: TransportProtocol, port: Int) -> (Bool, String) {
        if case .address(let address) = source, let node = topology.node(named: pod.node),
           address == node.ip || address == node.bridgeAddress {
            return (true, "ingress to \(name(pod)): from its own node \(node.name), always allowed")
        }
        return judge(pod, .ingress, peer: source, destinationPod: pod, proto: proto, port: port)
    }

    /// Egress of `pod` towards `peer`, or ingress of `pod` from `peer`.
    private func judge(_ pod: PodTopology, _ direction: PolicyType, peer: Endpoint, destinationPod: PodTopology?,
                       proto: TransportProtocol, port: Int) -> (Bool, String) {
        let word = direction == .ingress ? "ingress to" : "egress from"
        let isolating = isolating(pod, direction)
        guard !isolating.isEmpty else { return (true, "\(word) \(name(pod)): not isolated") }
        for policy in isolating {
            for (index, rule) in policy.rules(direction).enumerated()
            where matches(rule, of: policy, peer: peer, destinationPod: destinationPod, proto: proto, port: port) {
                let key = direction == .ingress ? "ingress" : "egress"
                return (true, "\(word) \(name(pod)): allowed by \(policy.namespace)/\(policy.name) \(key)[\(index)]")
            }
        }
        let names = isolating.map { "\($0.namespace)/\($0.name)" }.joined(separator: ", ")
        return (false, "\(word) \(name(pod)): isolated by \(names); no rule allows \(peer) on \(port)/\(proto.rawValue)")
    }

    // MARK: Matching

    private func matches(_ rule: PolicyRule, of policy: NetworkPolicySpec, peer: Endpoint, destinationPod: PodTopology?,
                         proto: TransportProtocol, port: Int) -> Bool {
        let peerMatches = rule.peers.map { peers in peers.contains { matches($0, of: policy, peer) } } ?? true
        let portMatches = rule.ports.isEmpty || rule.ports.contains { matches($0, destinationPod: destinationPod, proto: proto, port: port) }
        return peerMatches && portMatches
    }

    /// Whether a pods peer (not an `ipBlock`) of `policy` selects `pod`.
    func selects(_ peer: PolicyPeer, of policy: NetworkPolicySpec, _ pod: PodTopology) -> Bool {
        selects(peer, of: policy, namespace: pod.namespace, labels: pod.labels)
    }

    /// `selects(_:of:_:)` from the two fields it reads (see `selects(_:namespace:labels:)`).
    func selects(_ peer: PolicyPeer, of policy: NetworkPolicySpec, namespace: String, labels podLabels: [String: String]) -> Bool {
        guard case .pods(let pods, let namespaces) = peer else { return false }
        let namespaceMatches = namespaces.map { $0.matches(labels(ofNamespace: namespace)) } ?? (namespace == policy.namespace)
        return namespaceMatches && (pods?.matches(podLabels) ?? true)
    }

    private func matches(_ peer: PolicyPeer, of policy: NetworkPolicySpec, _ endpoint: Endpoint) -> Bool {
        switch peer {
        case .ipBlock(let cidr, let except):
            guard let address = address(endpoint) else { return false }
            return cidr.contains(address) && !except.contains { $0.contains(address) }
        case .pods:
            guard let pod = pod(endpoint) else { return false }
            return selects(peer, of: policy, pod)
        }
    }

    private func matches(_ policyPort: PolicyPort, destinationPod: PodTopology?, proto: TransportProtocol, port: Int) -> Bool {
        guard policyPort.protocol == proto else { return false }
        switch policyPort.port {
        case nil: return true
        case .number(let start): return policyPort.endPort.map { (start...$0).contains(port) } ?? (start == port)
        case .name(let name): return destinationPod?.resolve(targetPort: .name(name), protocol: proto) == port
        }
    }

    // MARK: Endpoints

    private func pod(_ endpoint: Endpoint) -> PodTopology? {
        switch endpoint {
        case .pod(let name): return podsByName[name].map { topology.pods[$0] }
        case .address(let address): return podsByIP[address].map { topology.pods[$0] }
        }
    }

    private func address(_ endpoint: Endpoint) -> IPv4Address? {
        switch endpoint {
        case .pod(let name): return podsByName[name].map { topology.pods[$0].ip }
        case .address(let address): return address
        }
    }

    private func name(_ pod: PodTopology) -> String { "\(pod.namespace)/\(pod.name)" }
}
