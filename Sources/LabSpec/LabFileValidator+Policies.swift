/// Namespaces and NetworkPolicies: what the API server would reject (names, `except` outside
/// its `cidr`, rules of a direction the policy does not isolate), and warnings for selectors
/// that select nothing, which are legal but almost always a typo.
extension LabFileValidator {
    func checkPolicies(_ d: inout Diagnostics) {
        for (i, namespace) in lab.namespaces.enumerated() {
            checkLabel(namespace.name, "namespace", "namespaces[\(i)].name", &d)
            checkLabels(namespace.labels, at: "namespaces[\(i)].labels", &d)
        }
        checkUnique(lab.namespaces.enumerated().map { ($0.element.name, "namespaces[\($0.offset)].name") }, what: "namespace", &d)
        // Worked out once for every policy, not once per rule: at 1,000 pods and 100 policies
        // that was most of validating the file.
        let context = PolicyCheckContext(namespaces: lab.allNamespaces,
                                         pods: lab.pods.map { PolicyCheckContext.Pod(namespace: $0.namespace, labels: $0.labels) },
                                         declaredPorts: Set(lab.pods.flatMap { $0.containers.flatMap { $0.ports.compactMap(\.name) } }))
        checkNetworkPolicies(context, &d)
    }

    /// The checks of `networkPolicies` alone, against what they read of the rest of the file:
    /// also how a change of the policies of a running lab is checked (`LabFileLoader.parsePolicies`).
    func checkNetworkPolicies(_ context: PolicyCheckContext, _ d: inout Diagnostics) {
        for (i, policy) in lab.networkPolicies.enumerated() {
            let path = "networkPolicies[\(i)]"
            checkLabel(policy.name, "policy name", "\(path).name", &d)
            checkLabel(policy.namespace, "namespace", "\(path).namespace", &d)
            checkPolicy(policy, at: path, context, &d)
        }
        for namespace in Set(lab.networkPolicies.map(\.namespace)).sorted() {
            let policies = lab.networkPolicies.enumerated().filter { $0.element.namespace == namespace }
            checkUnique(policies.map { ($0.element.name, "networkPolicies[\($0.offset)].name") }, what: "policy name",
                        scope: " in namespace \"\(namespace)\"", &d)
        }
    }

    private func checkPolicy(_ policy: NetworkPolicySpec, at path: String, _ context: PolicyCheckContext, _ d: inout Diagnostics) {
        guard usable(path) else { return }
        if written("\(path).policyTypes") {
            for direction in PolicyType.allCases where !policy.isolates(direction) && !policy.rules(direction).isEmpty {
                let key = direction == .ingress ? "ingress" : "egress"
                d.error("\(path).\(key)", "\(key) rules are ignored: policyTypes does not list \(direction.rawValue); add it to policyTypes or remove the \(key) section")
            }
        }
        if usable("pods"), usable("\(path).podSelector"), !policy.podSelector.isEmpty,
           !context.pods.contains(where: { $0.namespace == policy.namespace && policy.podSelector.matches($0.labels) }) {
            d.warning("\(path).podSelector", "selects no pod in namespace \"\(policy.namespace)\"; the policy has no effect")
        }
        checkLabels(policy.podSelector.matchLabels, at: "\(path).podSelector.matchLabels", &d)
        for direction in PolicyType.allCases {
            let key = direction == .ingress ? "ingress" : "egress"
            for (r, rule) in policy.rules(direction).enumerated() {
                let rulePath = "\(path).\(key)[\(r)]"
                checkPeers(rule.peers ?? [], of: policy, at: "\(rulePath).\(direction == .ingress ? "from" : "to")", context, &d)
                checkNamedPorts(rule.ports, at: "\(rulePath).ports", context, &d)
            }
        }
    }

    /// Only when every peer decoded: the model drops a peer that did not, so indices would
    /// name the wrong one.
    private func checkPeers(_ peers: [PolicyPeer], of policy: NetworkPolicySpec, at path: String, _ context: PolicyCheckContext,
                            _ d: inout Diagnostics) {
        guard usable(path), usable("pods") else { return }
        for (p, peer) in peers.enumerated() {
            guard case .pods(let pods, let namespaces) = peer else { continue }
            let namespaceNames = Set(context.namespaces.filter { namespace in
                namespaces.map { $0.matches(namespace.effectiveLabels) } ?? (namespace.name == policy.namespace)
            }.map(\.name))
            let selected = context.pods.contains { namespaceNames.contains($0.namespace) && (pods?.matches($0.labels) ?? true) }
            if !selected {
                let key = pods != nil ? "podSelector" : "namespaceSelector"
                d.warning("\(path)[\(p)].\(key)", "this peer selects no pod of the lab; the rule allows nothing from it")
            }
        }
    }

    /// A named port no container declares matches no traffic: legal, but a likely typo.
    private func checkNamedPorts(_ ports: [PolicyPort], at path: String, _ context: PolicyCheckContext, _ d: inout Diagnostics) {
        guard usable("pods") else { return }
        let declared = context.declaredPorts
        for (i, port) in ports.enumerated() {
            guard case .name(let name) = port.port, !declared.contains(name) else { continue }
            let hint = EditDistance.suggestion(for: name, among: declared.sorted()).map { "; did you mean \"\($0)\"?" } ?? ""
            d.warning("\(path)[\(i)].port", "no container declares a port named \"\(name)\"\(hint)")
        }
    }
}

/// What the checks of `networkPolicies` read of the rest of a lab file: its Kubernetes
/// namespaces (`LabFile.allNamespaces`), its pods' namespaces and labels, and the port names its
/// containers declare. Taken from the file, or from a running lab whose other sections are the
/// file's.
public struct PolicyCheckContext: Sendable {
    public struct Pod: Sendable {
        public var namespace: String
        public var labels: [String: String]

        public init(namespace: String, labels: [String: String]) {
            self.namespace = namespace
            self.labels = labels
        }
    }

    public var namespaces: [NamespaceSpec]
    /// The file's pods, in file order.
    public var pods: [Pod]
    public var declaredPorts: Set<String>

    public init(namespaces: [NamespaceSpec], pods: [Pod], declaredPorts: Set<String>) {
        self.namespaces = namespaces
        self.pods = pods
        self.declaredPorts = declaredPorts
    }
}
