import LabAddress
import Yams

/// `namespaces:` and `networkPolicies:`, read with Kubernetes' spelling. What one value can
/// say wrong (an unknown operator, `values` with `Exists`, `endPort` below `port`) is reported
/// here; what needs the whole file (duplicate names, `except` outside `cidr`, selectors that
/// select nothing) is the validator's.
extension LabFileDecoder {
    static let namespaceKeys = ["name", "labels"]
    static let policyKeys = ["name", "namespace", "podSelector", "policyTypes", "ingress", "egress"]
    static let selectorKeys = ["matchLabels", "matchExpressions"]
    static let requirementKeys = ["key", "operator", "values"]
    static let peerKeys = ["podSelector", "namespaceSelector", "ipBlock"]
    static let ipBlockKeys = ["cidr", "except"]
    static let policyPortKeys = ["protocol", "port", "endPort"]

    func namespace(_ fields: YAMLFields) -> NamespaceSpec {
        var spec = NamespaceSpec(name: requiredString(fields, "name", "the namespace's name") ?? "")
        if let value = fields["labels"] { spec.labels = stringMap(value, at: fields.path("labels"), what: "label names to values") }
        return spec
    }

    func networkPolicy(_ fields: YAMLFields) -> NetworkPolicySpec {
        var policy = NetworkPolicySpec(name: requiredString(fields, "name", "the policy's name") ?? "")
        if let namespace = optionalString(fields, "namespace") { policy.namespace = namespace }
        if let value = fields["podSelector"] { policy.podSelector = selector(value, at: fields.path("podSelector")) }
        if let value = fields["ingress"] {
            policy.ingress = elements(value, at: fields.path("ingress"), of: "ingress rules", keys: ["from", "ports"]) {
                rule($0, peersKey: "from")
            }
        }
        if let value = fields["egress"] {
            policy.egress = elements(value, at: fields.path("egress"), of: "egress rules", keys: ["to", "ports"]) {
                rule($0, peersKey: "to")
            }
        }
        // The API server's defaulting: Ingress always, Egress when there is an egress section.
        policy.policyTypes = fields["egress"] == nil ? [.ingress] : [.ingress, .egress]
        if let value = fields["policyTypes"] {
            let path = fields.path("policyTypes")
            let types = reader.list(value, at: path, of: "policy types")?.compactMap { item -> PolicyType? in
                reader.choice(item.node, at: item.path, what: "policy type")
            }
            if let types {
                var seen: Set<PolicyType> = []
                policy.policyTypes = types.filter { seen.insert($0).inserted }
            }
        }
        return policy
    }

    func selector(_ node: Node, at path: String) -> LabelSelector {
        var selector = LabelSelector()
        guard let fields = reader.fields(node, at: path, allowed: Self.selectorKeys) else { return selector }
        if let value = fields["matchLabels"] {
            selector.matchLabels = stringMap(value, at: fields.path("matchLabels"), what: "label names to values")
        }
        if let value = fields["matchExpressions"] {
            selector.matchExpressions = elements(value, at: fields.path("matchExpressions"), of: "label requirements",
                                                 keys: Self.requirementKeys, requirement).compactMap { $0 }
        }
        return selector
    }

    private func requirement(_ fields: YAMLFields) -> LabelRequirement? {
        let key = requiredString(fields, "key", "the label the expression tests")
        let opPath = fields.path("operator")
        var op: LabelRequirement.Operator?
        if let value = required(fields, "operator", "In, NotIn, Exists or DoesNotExist") {
            op = reader.choice(value, at: opPath, what: "label selector operator")
        }
        let values = fields["values"].flatMap { stringList($0, at: fields.path("values"), of: "label values") }
        guard let key, let op else { return nil }
        switch op {
        case .in, .notIn:
            if values?.isEmpty ?? true, !reader.failedPaths.contains(fields.path("values")) {
                reader.fail(fields.path, "operator \(op.rawValue) needs a non-empty \"values\" list, like values: [a, b]")
            }
        case .exists, .doesNotExist:
            if let values, !values.isEmpty, let node = fields["values"] {
                reader.fail(fields.path("values"), at: node, "operator \(op.rawValue) takes no values; remove \"values\" or use In/NotIn")
            }
        }
        return LabelRequirement(key: key, operator: op, values: values ?? [])
    }

    private func rule(_ fields: YAMLFields, peersKey: String) -> PolicyRule {
        var rule = PolicyRule()
        if let value = fields[peersKey] {
            let decoded = elements(value, at: fields.path(peersKey), of: "peers", keys: Self.peerKeys, peer)
            let peers = decoded.compactMap { $0 }
            if peers.count < decoded.count { reader.markFailed(fields.path(peersKey)) }
            // An empty `from`/`to` matches every peer, as an absent one does.
            rule.peers = peers.isEmpty ? nil : peers
        }
        if let value = fields["ports"] {
            rule.ports = elements(value, at: fields.path("ports"), of: "ports", keys: Self.policyPortKeys, policyPort)
        }
        return rule
    }

    private func peer(_ fields: YAMLFields) -> PolicyPeer? {
        let pods = fields["podSelector"].map { selector($0, at: fields.path("podSelector")) }
        let namespaces = fields["namespaceSelector"].map { selector($0, at: fields.path("namespaceSelector")) }
        if let value = fields["ipBlock"] {
            if pods != nil || namespaces != nil {
                reader.fail(fields.path("ipBlock"), at: value,
                            "ipBlock cannot be combined with podSelector or namespaceSelector in one peer; write them as two peers")
                return nil
            }
            return ipBlock(value, at: fields.path("ipBlock"))
        }
        if pods == nil, namespaces == nil {
            if fields.node != nil, !reader.failedPaths.contains(fields.path) {
                reader.fail(fields.path, "a peer needs podSelector, namespaceSelector or ipBlock (an empty \"\(fields.path)\" selects nothing)")
            }
            return nil
        }
        return .pods(pods: pods, namespaces: namespaces)
    }

    private func ipBlock(_ node: Node, at path: String) -> PolicyPeer? {
        guard let fields = reader.fields(node, at: path, allowed: Self.ipBlockKeys) else { return nil }
        guard let cidrNode = required(fields, "cidr", "the block, like 192.168.1.0/24"),
              let cidr = reader.network(cidrNode, at: fields.path("cidr")) else { return nil }
        var except: [IPv4Network] = []
        if let value = fields["except"], let items = reader.list(value, at: fields.path("except"), of: "CIDRs") {
            except = items.compactMap { item in
                guard let excluded = reader.network(item.node, at: item.path) else { return nil }
                // As the API server: each except must be a strict subset of the block.
                guard cidr.contains(excluded), excluded.prefixLength > cidr.prefixLength else {
                    reader.fail(item.path, at: item.node, "except \(excluded) is not inside cidr \(cidr); each except must be a smaller block within it")
                    return nil
                }
                return excluded
            }
        }
        return .ipBlock(cidr: cidr, except: except)
    }

    private func policyPort(_ fields: YAMLFields) -> PolicyPort {
        var spec = PolicyPort()
        if let value = fields["protocol"], let proto: TransportProtocol = reader.choice(value, at: fields.path("protocol"), what: "protocol") {
            spec.protocol = proto
        }
        if let value = fields["port"] {
            let path = fields.path("port")
            if value.tagName == .int {
                if let number = reader.int(value, at: path, in: Self.portRange, what: "port") { spec.port = .number(number) }
            } else if let name = reader.string(value, at: path) {
                spec.port = .name(name)
            }
        }
        if let value = fields["endPort"] {
            let path = fields.path("endPort")
            guard let end = reader.int(value, at: path, in: Self.portRange, what: "endPort") else { return spec }
            switch spec.port {
            case .number(let start) where end < start:
                reader.fail(path, at: value, "endPort \(end) is below port \(start); the range is port..endPort, inclusive")
            case .number:
                spec.endPort = end
            case .name(let name):
                reader.fail(path, at: value, "endPort needs a numeric port, not the named port \"\(name)\"")
            case nil:
                if !reader.failedPaths.contains(fields.path("port")) {
                    reader.fail(path, at: value, "endPort needs a numeric \"port\" where the range starts")
                }
            }
        }
        return spec
    }
}
