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
    private var iptablesLines: [ProxiedServicePort: (filter: IPTablesTableText, nat: IPTablesTableText)] = [:]
    private lazy var policyLayouts = PolicyLayout.Shared(topology: topology)

    init(topology: Topology) {
        self.topology = topology
        ports = ProxiedServicePort.all(in: topology)
    }

    /// The service ports as `node` renders them: `ProxiedServicePort.all(in:node:)` without
    /// the local marks no rule reads.
    func ports(on node: String) -> [ProxiedServicePort] {
        ports.map { $0.externalPolicyLocal ? $0.localized(to: node) : $0 }
    }

    /// `port`'s lines appended to the node's tables, rendered the first time they are asked for.
    func writeIPTables(_ port: ProxiedServicePort, filter: inout IPTablesTableText, nat: inout IPTablesTableText) {
        if iptablesLines[port] == nil {
            var portFilter = IPTablesTableText(table: filter.table), portNAT = IPTablesTableText(table: nat.table)
            IPTablesRules.writeServicePort(port, clusterCIDR: topology.podCIDR, filter: &portFilter, nat: &portNAT)
            iptablesLines[port] = (portFilter, portNAT)
        }
        guard let lines = iptablesLines[port] else { return }
        filter.append(contentsOf: lines.filter)
        nat.append(contentsOf: lines.nat)
    }

    /// The NetworkPolicy oracle the layouts were worked out with.
    var policyEvaluator: PolicyEvaluator { policyLayouts.evaluator }

    func policyLayout(of node: NodeTopology) -> PolicyLayout? {
        topology.policy == nil ? nil : policyLayouts.layout(of: node)
    }
}
