/// The pod pairs the default model check probes: a set that grows with pods × nodes instead of
/// pods², and still fails when any single pod is cut off from any single node.
///
/// Pods are indices (file order) and each has a node index. The reach set holds, for every pod,
/// one target on every node that has another pod — so a pod cut off from node N fails its probe
/// to N — and it reaches every pod from another node and from its own node (where there is
/// one), so a pod nobody can reach fails too. Targets on a node are taken in turn, so the load
/// spreads evenly and each pod is a target about `nodes` times. Pure.
public enum CoveringSet {
    public struct Pair: Sendable, Hashable, CustomStringConvertible {
        public var source: Int
        public var target: Int
        public var description: String { "\(source)>\(target)" }
    }

    /// Every ordered pair of distinct pods, sources in order.
    public static func allPairs(count: Int) -> [Pair] {
        (0..<count).flatMap { source in (0..<count).filter { $0 != source }.map { Pair(source: source, target: $0) } }
    }

    /// Per pod: one pod on every node (its own node's next pod in turn, other nodes' pods in
    /// rotation); then, for any pod no other node reached, one probe to it from another node.
    /// Sources appear in file order.
    public static func reach(nodeOf: [Int]) -> [Pair] {
        let podsOnNode = podsByNode(nodeOf)
        var crossCursor = [Int](repeating: 0, count: podsOnNode.count)
        var reachedFromAnotherNode = [Bool](repeating: false, count: nodeOf.count)
        var pairs: [[Pair]] = Array(repeating: [], count: nodeOf.count)
        for source in nodeOf.indices {
            for (node, pods) in podsOnNode.enumerated() where !pods.isEmpty {
                if node == nodeOf[source] {
                    // The next pod of the same node in turn: a cycle, so each is reached once.
                    guard pods.count > 1, let position = pods.firstIndex(of: source) else { continue }
                    pairs[source].append(Pair(source: source, target: pods[(position + 1) % pods.count]))
                } else {
                    let target = pods[crossCursor[node] % pods.count]
                    crossCursor[node] += 1
                    reachedFromAnotherNode[target] = true
                    pairs[source].append(Pair(source: source, target: target))
                }
            }
        }
        var rotation = Rotation(count: nodeOf.count)
        for target in nodeOf.indices where !reachedFromAnotherNode[target] {
            guard let source = rotation.next(where: { nodeOf[$0] != nodeOf[target] }) else { continue }
            pairs[source].append(Pair(source: source, target: target))
        }
        return pairs.flatMap { $0 }
    }

    /// The no-NAT pairs: one per ordered pair of nodes (a node with itself too, where it has two
    /// pods), then one to every eligible target not yet probed, from another node where there is
    /// one. `eligible[i]`: pod i can tell who called (an HTTP agent).
    public static func noNAT(nodeOf: [Int], eligible: [Bool]) -> [Pair] {
        let podsOnNode = podsByNode(nodeOf)
        let targetsOnNode = podsOnNode.map { $0.filter { eligible[$0] } }
        var sourceCursor = [Int](repeating: 0, count: podsOnNode.count)
        var targetCursor = [Int](repeating: 0, count: podsOnNode.count)
        var probed = [Bool](repeating: false, count: nodeOf.count)
        var pairs: [Pair] = []
        for (from, sources) in podsOnNode.enumerated() where !sources.isEmpty {
            for (to, targets) in targetsOnNode.enumerated() where !targets.isEmpty {
                // The node's next target in turn, from its next source that is not the target.
                let target = targets[targetCursor[to] % targets.count]
                guard let offset = (0..<sources.count).first(where: { sources[(sourceCursor[from] + $0) % sources.count] != target })
                else { continue }
                let source = sources[(sourceCursor[from] + offset) % sources.count]
                sourceCursor[from] += offset + 1
                targetCursor[to] += 1
                probed[target] = true
                pairs.append(Pair(source: source, target: target))
            }
        }
        var rotation = Rotation(count: nodeOf.count)
        for target in nodeOf.indices where eligible[target] && !probed[target] {
            let source = rotation.next(where: { nodeOf[$0] != nodeOf[target] }) ?? rotation.next(where: { $0 != target })
            guard let source else { continue }
            pairs.append(Pair(source: source, target: target))
        }
        return pairs
    }

    /// Pod indices per node, in file order; nodes numbered 0..<max+1.
    static func podsByNode(_ nodeOf: [Int]) -> [[Int]] {
        var pods = [[Int]](repeating: [], count: (nodeOf.max() ?? -1) + 1)
        for (pod, node) in nodeOf.enumerated() { pods[node].append(pod) }
        return pods
    }

    /// Hands out pods in turn, so extra probes do not all start from the first pod.
    struct Rotation {
        let count: Int
        var cursor = 0

        init(count: Int) { self.count = count }

        mutating func next(where accept: (Int) -> Bool) -> Int? {
            for _ in 0..<count {
                let candidate = cursor % count
                cursor += 1
                if accept(candidate) { return candidate }
            }
            return nil
        }
    }
}

extension CoveringSet {
    /// The node index of every pod of `topology`, in file order (the nodes' order in the file).
    static func nodeIndices(_ topology: Topology) -> [Int] {
        let index = Dictionary(uniqueKeysWithValues: topology.nodes.enumerated().map { ($1.name, $0) })
        return topology.pods.map { index[$0.node] ?? 0 }
    }
}
