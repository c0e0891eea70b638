import Foundation
import LabKernel
import LabPlan

/// What `lab status` reports: the settled topology, plus what the kernel says is there now.
public struct LabStatus: Sendable, Codable {
    public struct Namespaced: Sendable, Codable {
        public var kind: String
        public var name: String
        /// The network namespace (`namespace` in the JSON, as `lab status` has always written it).
        public var netns: String
        public var ip: String
        /// Node podCIDR, the pod's node, or the host's network.
        public var detail: String
        public var present: Bool

        private enum CodingKeys: String, CodingKey {
            case kind, name, netns = "namespace", ip, detail, present
        }
    }

    public struct Service: Sendable, Codable {
        public var name: String
        public var namespace: String
        public var type: String
        public var clusterIP: String
        public var ports: [String]
        public var endpoints: [String]
    }

    /// A NetworkPolicy, the pods it selects, and the directions it isolates them in.
    public struct Policy: Sendable, Codable {
        public var name: String
        public var namespace: String
        public var policyTypes: [String]
        public var pods: [String]
    }

    /// A pod some policy selects, and for each direction whether it is isolated (only what the
    /// isolating policies allow passes) and by which policies.
    public struct Isolation: Sendable, Codable {
        public var pod: String
        public var ingress: [String]
        public var egress: [String]
    }

    public var lab: String
    public var network: String
    public var proxy: String
    public var mtu: Int
    public var podMTU: Int
    /// The neighbour mode in force (`arp` or `static`), `cluster.neighbours` as written, and
    /// the permanent entries `static` keeps (0 in `arp`).
    public var neighbours: String
    public var neighbourSetting: String
    public var permanentNeighbours: Int
    public var healthy: Bool
    public var networks: [String]
    public var nodes: [Namespaced]
    public var pods: [Namespaced]
    public var hosts: [Namespaced]
    public var services: [Service]
    public var policies: [Policy]
    /// Pods no policy selects are open both ways and not listed.
    public var isolation: [Isolation]
    /// Every container, as the supervisor last reported it.
    public var containers: [ContainerStatus]
    /// nil when the lab has containers but no live supervisor (they are then not running).
    public var supervisorPID: Int32?
    /// The lab's `link:` impairments and how this kernel carries them out.
    public var impairments: [ImpairmentStatus] = []
    /// The faults in force (`lab fault`), oldest first.
    public var faults: [FaultStatus] = []

    public struct FaultStatus: Sendable, Codable {
        /// `down node/node-1`, `impair pod/web-1`, `partition rack-1 rack-2`.
        public var fault: String
        /// The impairment's settings; empty for the others.
        public var settings: String
        /// Seconds since 1970.
        public var since: Double
        /// When the supervisor reverts it; nil until cleared.
        public var expires: Double?
        /// `down node/…`: when its pods leave the services' endpoints, until they have.
        public var notReadyAt: Double?
        /// `down node/…`: its pods are out of the services' endpoints.
        public var notReady: Bool
    }

    public static func read(lab: String) throws -> LabStatus {
        let topology = try LabController.topology(of: lab)
        let present = Set(NetworkNamespace.list())
        let nodes = topology.nodes.map {
            Namespaced(kind: "node", name: $0.name, netns: $0.netns, ip: $0.ip.description,
                       detail: "podCIDR \($0.podCIDR) on \($0.network)" + (topology.mode == .vxlan ? ", vtep \($0.vtepMAC)" : ""),
                       present: present.contains($0.netns))
        }
        let pods = topology.pods.map {
            Namespaced(kind: "pod", name: $0.name, netns: $0.netns, ip: $0.ip.description,
                       detail: "on \($0.node)", present: present.contains($0.netns))
        }
        let hosts = topology.hosts.map {
            Namespaced(kind: "host", name: $0.name, netns: $0.netns, ip: $0.ip.description,
                       detail: "on \($0.network)", present: present.contains($0.netns))
        }
        let pods_ = Dictionary(uniqueKeysWithValues: topology.pods.map { ($0.name, $0) })
        let faults = FaultController(lab: lab).list()
        let notReady = faults.notReadyNodes
        let services = topology.services.map { service in
            Service(name: service.name, namespace: service.namespace, type: service.type.rawValue,
                    clusterIP: service.clusterIP?.description ?? "None",
                    ports: service.ports.map { port in
                        "\(port.port)\(port.nodePort.map { ":\($0)" } ?? "")/\(port.protocol.rawValue)→\(port.targetPort)"
                    },
                    endpoints: service.endpoints.map { name in
                        pods_[name].map { "\(name) \($0.ip)" + (notReady.contains($0.node) ? " (not ready)" : "") } ?? name
                    })
        }
        let (policies, isolation) = policyStatus(topology)
        let all = nodes + pods + hosts
        let state = LabState(lab: lab)
        let supervisor = SupervisorProcess.running(lab: lab, state: state)
        var containers = state.supervisorReport()?.containers ?? []
        if supervisor == nil {
            // A dead supervisor's last words are stale: nothing of it runs any more.
            containers = containers.map { var status = $0; status.state = .exited; status.pid = nil; status.error = "the lab supervisor is not running; run lab up again"; return status }
        }
        if containers.isEmpty {
            containers = topology.pods.flatMap { pod in
                pod.containers.map { ContainerStatus(pod: pod.name, container: $0.name, isAgent: $0.isAgent, state: .exited, pid: nil,
                                                      restarts: 0, exitCode: nil, error: "not started") }
            }
        }
        var status = LabStatus(lab: lab, network: topology.mode.rawValue, proxy: topology.proxy.rawValue, mtu: topology.mtu,
                         podMTU: topology.podMTU, neighbours: topology.neighbours.rawValue,
                         neighbourSetting: topology.neighbourSetting.rawValue,
                         permanentNeighbours: topology.neighbours == .static ? NeighbourEntries.worstCase(topology) : 0,
                         // Containers, fault clocks and delay lines each need the supervisor.
                         healthy: present.contains(topology.fabricNetns) && all.allSatisfy(\.present)
                             && (supervisor != nil || !Supervisor.isNeeded(for: topology, faults: faults)),
                         networks: topology.networks.map { "\($0.name) \($0.cidr) gateway \($0.gateway)" },
                         nodes: nodes, pods: pods, hosts: hosts, services: services,
                         policies: policies, isolation: isolation,
                         containers: containers, supervisorPID: supervisor)
        // Run-time impairments show where they replace the file's.
        let impaired = FaultPlan.withImpairments(topology, faults)
        status.impairments = ImpairmentReport.status(impaired)
        status.faults = faults.records.map { record in
            FaultStatus(fault: record.fault.key, settings: record.fault.impairment?.summary ?? "", since: record.since,
                        expires: record.expires, notReadyAt: record.notReadyAt, notReady: record.notReady)
        }
        if supervisor == nil, !ImpairmentPlan.delayQueues(impaired).isEmpty {
            // No listener on a queue drops what its rule queues: say why the link is dead.
            for index in status.impairments.indices where status.impairments[index].mechanism.contains("NFQUEUE") {
                status.impairments[index].mechanism += " (NOT SERVED: the supervisor is not running, so the link drops IP packets; run lab up again)"
            }
        } else if let failed = state.supervisorReport()?.delayLines?.filter({ $0.error != nil }), !failed.isEmpty {
            for index in status.impairments.indices where failed.contains(where: { $0.object == status.impairments[index].object }) {
                status.impairments[index].mechanism += " (queue not bound: \(failed[0].error ?? ""))"
            }
        }
        return status
    }

    /// Each policy with the pods it selects; each selected pod with what isolates it.
    static func policyStatus(_ topology: Topology) -> ([Policy], [Isolation]) {
        guard topology.policy != nil else { return ([], []) }
        let evaluator = PolicyEvaluator(topology: topology)
        let policies = evaluator.policies.map { policy in
            Policy(name: policy.name, namespace: policy.namespace, policyTypes: policy.policyTypes.map(\.rawValue),
                   pods: topology.pods.filter { evaluator.selects(policy, $0) }.map(\.name))
        }
        let isolation = topology.pods.compactMap { pod -> Isolation? in
            let ingress = evaluator.isolating(pod, .ingress).map(\.name), egress = evaluator.isolating(pod, .egress).map(\.name)
            return ingress.isEmpty && egress.isEmpty ? nil : Isolation(pod: "\(pod.namespace)/\(pod.name)", ingress: ingress, egress: egress)
        }
        return (policies, isolation)
    }
}
