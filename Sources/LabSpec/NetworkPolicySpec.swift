import LabAddress
/// A `networkPolicies:` entry: Kubernetes' `NetworkPolicy`, with `name` and `namespace` in
/// place of `metadata`, and every other field named, shaped and meaning what
/// `networking.k8s.io/v1 NetworkPolicySpec` says, so a policy can be pasted from a cluster.
public struct NetworkPolicySpec: Sendable, Hashable, Codable {
    public var name: String
    /// The Kubernetes namespace the policy lives in; it selects pods of that namespace only.
    public var namespace: String
    /// The pods the policy applies to; `{}` selects every pod of the namespace.
    public var podSelector: LabelSelector
    /// Effective directions, defaulted as the API server defaults them: `Ingress` always, and
    /// `Egress` too when the policy has an `egress` section.
    public var policyTypes: [PolicyType]
    /// Allowed incoming traffic; empty under Ingress isolation allows nothing.
    public var ingress: [PolicyRule]
    /// Allowed outgoing traffic; empty under Egress isolation allows nothing.
    public var egress: [PolicyRule]

    public init(name: String, namespace: String = "default", podSelector: LabelSelector = LabelSelector(),
                policyTypes: [PolicyType] = [.ingress], ingress: [PolicyRule] = [], egress: [PolicyRule] = []) {
        self.name = name
        self.namespace = namespace
        self.podSelector = podSelector
        self.policyTypes = policyTypes
        self.ingress = ingress
        self.egress = egress
    }

    /// Whether the policy isolates the pods it selects in that direction.
    public func isolates(_ direction: PolicyType) -> Bool { policyTypes.contains(direction) }

    /// The rules of one direction.
    public func rules(_ direction: PolicyType) -> [PolicyRule] { direction == .ingress ? ingress : egress }
}

public enum PolicyType: String, Sendable, Hashable, Codable, CaseIterable {
    case ingress = "Ingress"
    case egress = "Egress"
}

/// One `ingress` or `egress` element: traffic matches when it comes from (goes to) any peer AND
/// uses any of the ports. `peers == nil` (no `from`/`to`, or an empty one) matches every peer;
/// `ports` empty matches every port.
public struct PolicyRule: Sendable, Hashable, Codable {
    public var peers: [PolicyPeer]?
    public var ports: [PolicyPort]

    public init(peers: [PolicyPeer]? = nil, ports: [PolicyPort] = []) {
        self.peers = peers
        self.ports = ports
    }
}

/// One element of `from`/`to`.
public enum PolicyPeer: Sendable, Hashable, Codable {
    /// `podSelector` and/or `namespaceSelector` in ONE element (both: AND). A nil
    /// `namespaces` means the policy's own namespace; a nil `pods` means every pod.
    case pods(pods: LabelSelector?, namespaces: LabelSelector?)
    /// `ipBlock: {cidr, except}`; never combined with a selector.
    case ipBlock(cidr: IPv4Network, except: [IPv4Network])
}

/// One `ports` element: `protocol` (TCP by default), `port` (a number or a named container
/// port; absent = every port) and `endPort` (an inclusive range from a numeric `port`).
public struct PolicyPort: Sendable, Hashable, Codable {
    public var `protocol`: TransportProtocol
    public var port: TargetPort?
    public var endPort: Int?

    public init(protocol: TransportProtocol = .tcp, port: TargetPort? = nil, endPort: Int? = nil) {
        self.protocol = `protocol`
        self.port = port
        self.endPort = endPort
    }
}

/// A Kubernetes label selector: every `matchLabels` pair and every expression must hold. The
/// empty selector matches everything.
public struct LabelSelector: Sendable, Hashable, Codable {
    public var matchLabels: [String: String]
    public var matchExpressions: [LabelRequirement]

    public init(matchLabels: [String: String] = [:], matchExpressions: [LabelRequirement] = []) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    public var isEmpty: Bool { matchLabels.isEmpty && matchExpressions.isEmpty }

    public func matches(_ labels: [String: String]) -> Bool {
        matchLabels.allSatisfy { labels[$0.key] == $0.value } && matchExpressions.allSatisfy { $0.matches(labels) }
    }
}

/// One `matchExpressions` element.
public struct LabelRequirement: Sendable, Hashable, Codable {
    public enum Operator: String, Sendable, Hashable, Codable, CaseIterable {
        case `in` = "In"
        case notIn = "NotIn"
        case exists = "Exists"
        case doesNotExist = "DoesNotExist"
    }

    public var key: String
    public var `operator`: Operator
    public var values: [String]

    public init(key: String, operator: Operator, values: [String] = []) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }

    /// As `k8s.io/apimachinery/pkg/labels`: `NotIn` and `DoesNotExist` hold for a pod without
    /// the key.
    public func matches(_ labels: [String: String]) -> Bool {
        let value = labels[key]
        switch `operator` {
        case .in: return value.map(values.contains) ?? false
        case .notIn: return value.map { !values.contains($0) } ?? true
        case .exists: return value != nil
        case .doesNotExist: return value == nil
        }
    }
}

/// A `namespaces:` entry. Every namespace a pod, service or policy uses exists even when the
/// file does not list it; each carries `kubernetes.io/metadata.name: <name>` as on a cluster.
public struct NamespaceSpec: Sendable, Hashable, Codable {
    public static let nameLabel = "kubernetes.io/metadata.name"

    public var name: String
    /// The labels as written, without the automatic name label.
    public var labels: [String: String]

    public init(name: String, labels: [String: String] = [:]) {
        self.name = name
        self.labels = labels
    }

    /// The labels a `namespaceSelector` sees.
    public var effectiveLabels: [String: String] {
        labels.merging([Self.nameLabel: name]) { _, automatic in automatic }
    }
}
