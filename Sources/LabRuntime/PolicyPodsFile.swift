import Foundation
import LabAddress
import LabKernel
import LabPlan

/// `policy-pods.json`, beside `topology.json`: of each pod only what a change of the policies
/// alone reads (`LabController.policyEdit`) — its names, node, namespace, address, labels and
/// its containers' ports — so that path need not decode the pods' whole records (most of
/// `topology.json`, and most of the time of such a change on a 1,000-pod lab).
///
/// It is written whenever `topology.json` is written whole (`LabState.saveTopology`), and holds
/// the length and a hash of the bytes of `topology.json`'s pods it was made from: a change of
/// the policies alone leaves those bytes as they are, so it stays true; any other write, a
/// crash between the two writes, or a file laid out otherwise shows as a mismatch, and the
/// caller decodes `topology.json` whole (`TopologyFile`).
///
/// The topology it gives (`topology(from:)`) is partial: its pods' veths are blank and their
/// containers keep only their names and ports. It is good for rendering and checking the
/// policies (`PolicyLayout`, `PolicyEvaluator`, `PolicyCheckContext`) and for comparing two
/// topologies made the same way; nothing may plan the pods' interfaces or start their
/// containers from it.
struct PolicyPodsFile: Codable, Equatable {
    /// The byte count and `hash` of the pods in `topology.json` (its `TopologyFile.podsRange`).
    var length: Int
    /// 64-bit FNV-1a (`StableHash`), in hex: a JSON number need not hold 64 bits.
    var hash: String
    var pods: [Pod]

    struct Pod: Codable, Equatable {
        var name: String
        var namespace: String
        var node: String
        var netns: String
        var ip: IPv4Address
        var prefixLength: Int
        var gateway: IPv4Address
        var labels: [String: String]
        var containers: [Container]
    }

    struct Container: Codable, Equatable {
        var name: String
        var ports: [ContainerPortTopology]
    }

    static let fileName = "policy-pods.json"

    /// The file for `topology`, saved as `data`; nil when `data` is not laid out as
    /// `TopologyFile` expects.
    init?(_ topology: Topology, savedAs data: Data) {
        guard let range = TopologyFile.podsRange(data) else { return nil }
        length = range.count
        hash = Self.hash(data[range])
        pods = topology.pods.map { pod in
            Pod(name: pod.name, namespace: pod.namespace, node: pod.node, netns: pod.netns, ip: pod.ip, prefixLength: pod.prefixLength,
                gateway: pod.gateway, labels: pod.labels, containers: pod.containers.map { Container(name: $0.name, ports: $0.ports) })
        }
    }

    func encoded() throws -> Data { try JSONEncoder().encode(self) }

    /// The partial topology of `data`, a `topology.json`, with the pods of `file` (the contents of
    /// a `policy-pods.json`); nil when that file was not made from these pods, or either does
    /// not decode.
    static func topology(from data: Data, file: Data) -> Topology? {
        guard let range = TopologyFile.podsRange(data) else { return nil }
        enum Decoded: Sendable { case topology(Topology), pods(PolicyPodsFile) }
        let rest = TopologyFile.withoutPods(data, range)
        let results = ParallelWork.map([0, 1], workers: ApplyTuning.workers) { index -> Decoded in
            index == 0 ? .topology(try JSONDecoder().decode(Topology.self, from: rest))
                : .pods(try JSONDecoder().decode(PolicyPodsFile.self, from: file))
        }
        guard results.count == 2, case .success(.topology(var topology)) = results[0], case .success(.pods(let pods)) = results[1],
              topology.pods.isEmpty, pods.length == range.count, pods.hash == hash(data[range]) else { return nil }
        topology.pods = pods.pods.map(\.partialPod)
        return topology
    }

    /// 64-bit FNV-1a of `bytes` (`StableHash`), as 16 hex digits.
    static func hash(_ bytes: Data) -> String {
        let digits = String(bytes.withUnsafeBytes(StableHash.fnv1a64(bytes:)), radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

extension PolicyPodsFile.Pod {
    /// The pod as the policies see it (`PodTopology.partial`).
    var partialPod: PodTopology {
        .partial(name: name, namespace: namespace, node: node, netns: netns, ip: ip, prefixLength: prefixLength, gateway: gateway,
                 labels: labels, containers: containers.map { ($0.name, $0.ports) })
    }
}
