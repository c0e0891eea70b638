/// The parts of every node's firewall rules that do not depend on the node, worked out once
/// per plan instead of once per node (docs/architecture.md, "Where each behaviour lives"): kube-proxy
/// writes every service on every node, so at 10 nodes a plan used to render each service
/// port's chains ten times, and a change re-planned both the old and the new lab that way.
///
/// - The service ports, with their endpoints, once; each node then marks its own endpoints
///   local only where that changes a rule (`externalTrafficPolicy: Local`).
/// - Each service port's `iptables-restore` lines, keyed by the port as the node sees it, so
///   a port renders once and every other node copies its lines.
/// - NetworkPolicy's per-policy chains and sets (`PolicyLayout.Shared`).
///
/// One instance belongs to one plan of one topology; it is not shared between threads.
final class SharedNodeRules {
    let topology: Topology
    private let ports: [ProxiedServicePort]
    private let iptablesLines: ServicePortLines
    private lazy var policyLayouts = PolicyLayout.Shared(topology: topology, eager: !renderingFewNodes)
    /// The plan renders the rules of a few nodes only (a policy change), not of every node.
    private let renderingFewNodes: Bool

    /// `servicesOf`: another plan's instance whose rendered service ports this one reuses —
    /// one of a lab with the same services and pod CIDR (the old and new lab of a policy
    /// change): a port's lines depend on nothing else.
    init(topology: Topology, renderingFewNodes: Bool = false, servicesOf other: SharedNodeRules? = nil) {
        self.topology = topology
        self.renderingFewNodes = renderingFewNodes
        if let other, other.topology.services == topology.services, other.topology.pods == topology.pods,
           other.topology.podCIDR == topology.podCIDR {
            ports = other.ports
            iptablesLines = other.iptablesLines
        } else {
            ports = ProxiedServicePort.all(in: topology)
            iptablesLines = ServicePortLines()
        }
    }

    /// Each service port's `iptables-restore` lines, by the port as a node sees it.
    final class ServicePortLines {
        var byPort: [ProxiedServicePort: (filter: IPTablesTableText, nat: IPTablesTableText)] = [:]
    }

    /// The service ports as `node` renders them: `ProxiedServicePort.all(in:node:)` without
    /// the local marks no rule reads.
    func ports(on node: String) -> [ProxiedServicePort] {
        ports.map { $0.externalPolicyLocal ? $0.localized(to: node) : $0 }
    }

    /// `port`'s lines appended to the node's tables, rendered the first time they are asked for.
    func writeIPTables(_ port: ProxiedServicePort, filter: inout IPTablesTableText, nat: inout IPTablesTableText) {
        if iptablesLines.byPort[port] == nil {
            var portFilter = IPTablesTableText(table: filter.table), portNAT = IPTablesTableText(table: nat.table)
            IPTablesRules.writeServicePort(port, clusterCIDR: topology.podCIDR, filter: &portFilter, nat: &portNAT)
            iptablesLines.byPort[port] = (portFilter, portNAT)
        }
        guard let lines = iptablesLines.byPort[port] else { return }
        filter.append(contentsOf: lines.filter)
        nat.append(contentsOf: lines.nat)
    }

    /// The NetworkPolicy oracle the layouts were worked out with.
    var policyEvaluator: PolicyEvaluator { policyLayouts.evaluator }

    func policyLayout(of node: NodeTopology) -> PolicyLayout? {
        topology.policy == nil ? nil : policyLayouts.layout(of: node)
    }
}
