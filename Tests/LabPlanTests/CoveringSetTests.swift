import LabSpec
import Testing
@testable import LabPlan

/// The default model check's covering set: small, and still able to fail for any one cut.
@Suite struct CoveringSetTests {
    /// Lab shapes as "pods per node": even, uneven, a node of one pod, a node with none, one node.
    static let shapes: [[Int]] = [
        [25, 25, 25, 25], [100, 100, 100, 100, 100, 100, 100, 100, 100, 100], [3, 1], [1, 1, 1], [5, 0, 2],
        [7], [1], [40, 3, 1, 0, 12], [2, 2], [1, 9],
    ]

    /// Round-robin pods over nodes, except that a node's count is its own.
    static func nodeOf(_ shape: [Int]) -> [Int] {
        var nodes: [Int] = []
        var left = shape
        while left.contains(where: { $0 > 0 }) {
            for node in left.indices where left[node] > 0 {
                nodes.append(node)
                left[node] -= 1
            }
        }
        return nodes
    }

    @Test(arguments: shapes) func everyPodReachesEveryNodeAndIsReachedFromEverySide(shape: [Int]) {
        let nodeOf = Self.nodeOf(shape)
        let pairs = CoveringSet.reach(nodeOf: nodeOf)
        #expect(pairs.allSatisfy { $0.source != $0.target })
        #expect(Set(pairs).count == pairs.count, "no pair twice")
        for pod in nodeOf.indices {
            let targetNodes = Set(pairs.filter { $0.source == pod }.map { nodeOf[$0.target] })
            let nodesWithOthers = Set(nodeOf.indices.filter { $0 != pod }.map { nodeOf[$0] })
            #expect(targetNodes == nodesWithOthers, "pod \(pod) reaches one pod on every node that has another pod")
            let sources = pairs.filter { $0.target == pod }.map(\.source)
            if nodeOf.contains(where: { $0 != nodeOf[pod] }) {
                #expect(sources.contains { nodeOf[$0] != nodeOf[pod] }, "pod \(pod) is reached from another node")
            }
            if nodeOf.indices.contains(where: { $0 != pod && nodeOf[$0] == nodeOf[pod] }) {
                #expect(sources.contains { nodeOf[$0] == nodeOf[pod] }, "pod \(pod) is reached from its own node")
            }
        }
    }

    /// Cutting any one pod off from any one node (dropping every pair between them, either
    /// way) leaves some probe of the set failing.
    @Test(arguments: shapes) func anyPodCutOffFromAnyNodeIsCaught(shape: [Int]) {
        let nodeOf = Self.nodeOf(shape)
        let pairs = CoveringSet.reach(nodeOf: nodeOf)
        // The nodes each pod exchanges a probe with, either way.
        var peers = [Set<Int>](repeating: [], count: nodeOf.count)
        for pair in pairs {
            peers[pair.source].insert(nodeOf[pair.target])
            peers[pair.target].insert(nodeOf[pair.source])
        }
        for pod in nodeOf.indices {
            for node in Set(nodeOf) where nodeOf.indices.contains(where: { $0 != pod && nodeOf[$0] == node }) {
                #expect(peers[pod].contains(node), "cutting pod \(pod) off from node \(node) fails a probe")
            }
        }
    }

    @Test(arguments: shapes) func theSetGrowsWithPodsTimesNodes(shape: [Int]) {
        let nodeOf = Self.nodeOf(shape)
        let nodes = shape.filter { $0 > 0 }.count
        #expect(CoveringSet.reach(nodeOf: nodeOf).count <= nodeOf.count * nodes + nodeOf.count)
    }

    @Test(arguments: shapes) func noNATCoversEveryNodePairAndEveryTarget(shape: [Int]) {
        let nodeOf = Self.nodeOf(shape)
        // Every third pod has no HTTP agent: it cannot be a no-NAT target, but it can call.
        let eligible = nodeOf.indices.map { $0 % 3 != 2 }
        let pairs = CoveringSet.noNAT(nodeOf: nodeOf, eligible: eligible)
        #expect(pairs.allSatisfy { $0.source != $0.target && eligible[$0.target] })
        for pod in nodeOf.indices where eligible[pod] && nodeOf.count > 1 {
            #expect(pairs.contains { $0.target == pod }, "pod \(pod) is a no-NAT target")
        }
        let probedNodePairs = Set(pairs.map { "\(nodeOf[$0.source])>\(nodeOf[$0.target])" })
        for from in Set(nodeOf) {
            for to in Set(nodeOf) {
                let possible = nodeOf.indices.contains { source in
                    nodeOf[source] == from && nodeOf.indices.contains { eligible[$0] && nodeOf[$0] == to && $0 != source }
                }
                if possible { #expect(probedNodePairs.contains("\(from)>\(to)"), "node \(from) → node \(to)") }
            }
        }
        #expect(pairs.count <= Set(nodeOf).count * Set(nodeOf).count + nodeOf.count)
    }

    @Test func allPairsIsEveryOrderedPair() {
        let pairs = CoveringSet.allPairs(count: 4)
        #expect(pairs.count == 12)
        #expect(Set(pairs).count == 12)
        #expect(pairs.allSatisfy { $0.source != $0.target })
    }

    /// A generator lab: `nodes` nodes, `pods` pods round-robin, an HTTP agent in every pod.
    static func generated(pods: Int, nodes: Int) throws -> Topology {
        var yaml = "name: gen\nnodes:\n"
        for node in 1...nodes { yaml += "  - {name: node-\(node)}\n" }
        yaml += "pods:\n"
        for pod in 1...pods {
            yaml += "  - {name: pod-\(pod), node: node-\((pod - 1) % nodes + 1), containers: [{name: a, agent: {http: [8080]}}]}\n"
        }
        return try TopologyBuilder.build(try LabFileLoader.parse(yaml, file: "gen.yaml").lab)
    }

    @Test func theFirstLineSaysWhatIsCovered() throws {
        // 999 pods of the file and the DNS pod (on node-1): 1,000 pods.
        let large = try Self.generated(pods: 999, nodes: 10)
        #expect(ModelCheck.summary(large, coverage: .covering)
                == "1,000 pods: 10,000 of 999,000 pod pairs, every pod to every node; --all-pairs for all")
        #expect(ModelCheck.summary(large, coverage: .allPairs) == "1,000 pods: all 999,000 pod pairs")
        let probes = ModelCheck.probes(large)
        #expect(probes.filter { $0.kind == .ping(count: 1) }.count == 10_000 + 1_000, "pairs and each pod to its node")
        #expect(probes.allSatisfy { $0.group == nil }, "no truth table 1,000 wide")
        // 2 pods and the DNS pod, on 3 nodes.
        let small = try Self.generated(pods: 2, nodes: 3)
        #expect(ModelCheck.summary(small, coverage: .covering) == "3 pods: all 6 pod pairs")
    }

    @Test func noNATProbesExpectTheCallersOwnIP() throws {
        let topology = try Self.generated(pods: 40, nodes: 4)
        let noNAT = ModelCheck.probes(topology).filter { $0.name.hasPrefix("model: no NAT") }
        #expect(!noNAT.isEmpty)
        #expect(noNAT.allSatisfy { $0.expect.clientIP == topology.pod(named: $0.from)?.ip.description })
        #expect(Set(noNAT.map(\.to)) == Set(topology.pods.map(\.name)), "every pod is a no-NAT target")
    }

    @Test func groupedNumbers() {
        #expect(NumberText.grouped(0) == "0")
        #expect(NumberText.grouped(999) == "999")
        #expect(NumberText.grouped(1000) == "1,000")
        #expect(NumberText.grouped(999_000) == "999,000")
        #expect(NumberText.grouped(1_234_567) == "1,234,567")
    }
}
