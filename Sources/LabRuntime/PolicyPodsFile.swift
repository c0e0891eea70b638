import Foundation
import LabAddress
import LabKernel
import LabPlan
import LabSpec

/// `policy-pods.tsv`, beside `topology.json`: of each pod only what a change of the policies
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
/// Its text is lines of tab-separated fields, not JSON: decoding a thousand pods' JSON took
/// longer than the rest of such a change. The first line is `lab-policy-pods`, the format's
/// version, the length and the hash; then a `pod` line per pod (name, namespace, node, netns,
/// address, prefix length, gateway), each followed by its `label` lines (key, value) and
/// `container` lines (name), each container by its `port` lines (name or empty, number,
/// protocol); last `end` and the pod count, so a cut file is refused. A pod whose strings
/// hold a tab or a line break has no file (`encoded()` is nil): the caller decodes whole.
///
/// The topology it gives (`topology(from:)`) is partial: its pods' veths are blank and their
/// containers keep only their names and ports. It is good for rendering and checking the
/// policies (`PolicyLayout`, `PolicyEvaluator`, `PolicyCheckContext`) and for comparing two
/// topologies made the same way; nothing may plan the pods' interfaces or start their
/// containers from it.
struct PolicyPodsFile: Equatable {
    /// The byte count and `hash` of the pods in `topology.json` (its `TopologyFile.podsRange`).
    var length: Int
    /// 64-bit FNV-1a (`StableHash`), in hex.
    var hash: String
    var pods: [Pod]

    struct Pod: Equatable {
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

    struct Container: Equatable {
        var name: String
        var ports: [ContainerPortTopology]
    }

    static let fileName = "policy-pods.tsv"
    private static let magic = "lab-policy-pods", version = "1"

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

    init(length: Int, hash: String, pods: [Pod]) {
        (self.length, self.hash, self.pods) = (length, hash, pods)
    }

    /// The file's text; nil when a string it would hold has a tab or a line break (or a port's
    /// name is empty, which stands for none).
    func encoded() -> Data? {
        var lines: [[String]] = [[Self.magic, Self.version, String(length), hash]]
        for pod in pods {
            lines.append(["pod", pod.name, pod.namespace, pod.node, pod.netns, pod.ip.description, String(pod.prefixLength), pod.gateway.description])
            for key in pod.labels.keys.sorted() { lines.append(["label", key, pod.labels[key] ?? ""]) }
            for container in pod.containers {
                lines.append(["container", container.name])
                for port in container.ports {
                    guard port.name != "" else { return nil }
                    lines.append(["port", port.name ?? "", String(port.port), port.protocol.rawValue])
                }
            }
        }
        lines.append(["end", String(pods.count)])
        // Bytes, not characters: `\r\n` is one character, neither `\r` nor `\n`.
        let separators: [UInt8] = [UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")]
        guard lines.allSatisfy({ $0.allSatisfy { !$0.utf8.contains(where: separators.contains) } }) else { return nil }
        return Data(lines.map { $0.joined(separator: "\t") + "\n" }.joined().utf8)
    }

    /// The file of `data` (as `encoded()` made it); nil when it is not one, or is cut short.
    init?(decoding data: Data) {
        let lines = data.withUnsafeBytes(Self.fields)
        guard let header = lines.first, header.count == 4, header[0] == Self.magic, header[1] == Self.version,
              let length = Int(header[2]), let last = lines.last, last.count == 2, last[0] == "end" else { return nil }
        var pods: [Pod] = []
        for line in lines.dropFirst().dropLast() {
            switch (line.first, line.count) {
            case ("pod", 8):
                guard let ip = IPv4Address(line[5]), let prefixLength = Int(line[6]), let gateway = IPv4Address(line[7]) else { return nil }
                pods.append(Pod(name: line[1], namespace: line[2], node: line[3], netns: line[4], ip: ip, prefixLength: prefixLength,
                                gateway: gateway, labels: [:], containers: []))
            case ("label", 3):
                guard !pods.isEmpty else { return nil }
                pods[pods.count - 1].labels[line[1]] = line[2]
            case ("container", 2):
                guard !pods.isEmpty else { return nil }
                pods[pods.count - 1].containers.append(Container(name: line[1], ports: []))
            case ("port", 4):
                guard !pods.isEmpty, !pods[pods.count - 1].containers.isEmpty, let number = Int(line[2]),
                      let proto = TransportProtocol(rawValue: line[3]) else { return nil }
                let port = ContainerPortTopology(name: line[1].isEmpty ? nil : line[1], port: number, protocol: proto)
                pods[pods.count - 1].containers[pods[pods.count - 1].containers.count - 1].ports.append(port)
            default:
                return nil
            }
        }
        guard last[1] == String(pods.count) else { return nil }
        self.init(length: length, hash: header[3], pods: pods)
    }

    /// The tab-separated fields of each line of `bytes`; a text that does not end in a line
    /// break loses its last line (so a cut file has no `end`).
    private static func fields(_ bytes: UnsafeRawBufferPointer) -> [[String]] {
        var lines: [[String]] = []
        var line: [String] = []
        var start = 0
        for index in bytes.indices {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") else { continue }
            line.append(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
            start = index + 1
            if byte == UInt8(ascii: "\n") {
                lines.append(line)
                line = []
            }
        }
        return lines
    }

    /// The partial topology of `data`, a `topology.json`, with the pods of `file` (the contents of
    /// a `policy-pods.tsv`); nil when that file was not made from these pods, or either does
    /// not decode.
    static func topology(from data: Data, file: Data) -> Topology? {
        guard let range = TopologyFile.podsRange(data) else { return nil }
        enum Decoded: Sendable { case topology(Topology), policy(PolicyTopology), pods(PolicyPodsFile?, hash: String) }
        let rest = TopologyFile.withoutPods(data, range)
        // The rest of `topology.json` without its policies, the policies (about half of the
        // rest's decoding at 100 policies) and this file (with the hash of the pods' bytes)
        // decode on three threads: the caller parses the lab file's section meanwhile.
        guard let policy = TopologyFile.policyField(rest) else { return nil }
        let withoutPolicy = Data(rest[..<policy.field.lowerBound] + rest[policy.field.upperBound...]), policyValue = rest[policy.value]
        let results = ParallelWork.map([0, 1, 2], workers: 3) { index -> Decoded in
            switch index {
            case 0: return .topology(try JSONDecoder().decode(Topology.self, from: withoutPolicy))
            case 1: return .policy(try JSONDecoder().decode(PolicyTopology.self, from: policyValue))
            default: return .pods(PolicyPodsFile(decoding: file), hash: hash(data[range]))
            }
        }
        guard results.count == 3, case .success(.topology(var topology)) = results[0], case .success(.policy(let policies)) = results[1],
              case .success(.pods(let pods?, let hash)) = results[2], topology.pods.isEmpty, topology.policy == nil,
              pods.length == range.count, pods.hash == hash else { return nil }
        topology.policy = policies
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
