import Foundation
import LabKernel
import LabPlan

/// Decoding `topology.json` on both cores: its pods — most of the file, and most of decoding a
/// 1,000-pod lab's (some 40 ms) — in two halves on two threads, the rest beside them. The
/// result is exactly `JSONDecoder`'s of the whole file.
///
/// The file is cut where the encoder's layout (`LabState.topologyEncoder`: pretty-printed, keys
/// sorted) puts its lines: the top-level `"pods"` array opens with `  "pods" : [` and closes
/// with a line `  ]`, and its elements are separated by `    },` / `    {` lines. A string
/// value never holds a line break (JSON escapes it), so those lines are the structure. A file
/// laid out any other way, a lab of few pods, or any error is decoded whole, the usual way
/// (which also gives the usual error).
enum TopologyFile {
    static func decode(_ data: Data) throws -> Topology {
        guard let parts = split(data) else { return try JSONDecoder().decode(Topology.self, from: data) }
        enum Decoded: Sendable { case topology(Topology), pods([PodTopology]) }
        let pieces = [parts.rest, parts.first, parts.second]
        let results = ParallelWork.map(Array(pieces.indices), workers: ApplyTuning.workers) { index -> Decoded in
            index == 0 ? .topology(try JSONDecoder().decode(Topology.self, from: pieces[index]))
                : .pods(try JSONDecoder().decode([PodTopology].self, from: pieces[index]))
        }
        guard results.count == 3, case .success(.topology(var topology)) = results[0], case .success(.pods(let first)) = results[1],
              case .success(.pods(let second)) = results[2], topology.pods.isEmpty else {
            return try JSONDecoder().decode(Topology.self, from: data)
        }
        topology.pods = first + second
        return topology
    }

    /// Below this many bytes of pods, one thread decodes the file sooner than two.
    static let minimumSplitSize = 64 << 10

    /// The file with an empty `pods` array, and the two halves of that array as arrays of their
    /// own; nil when the file is not laid out as expected or its pods are few.
    static func split(_ data: Data) -> (rest: Data, first: Data, second: Data)? {
        let between = Data("\n    },\n    {".utf8)
        guard let pods = podsRange(data), pods.count >= minimumSplitSize else { return nil }
        let middle = pods.lowerBound + pods.count / 2
        guard let cut = data.locate(between, in: middle..<pods.upperBound) else { return nil }
        // `{` … `}` up to the cut, and `{` … `}` after it (its `    {` line), each as an array.
        let first = Data("[".utf8) + data[pods.lowerBound..<(cut.lowerBound + "\n    }".utf8.count)] + Data("]".utf8)
        let second = Data("[".utf8) + data[(cut.lowerBound + "\n    },\n".utf8.count)..<pods.upperBound] + Data("]".utf8)
        return (withoutPods(data, pods), first, second)
    }

    /// The bytes of the pods inside the top-level `"pods"` array (its elements, without the
    /// brackets' lines); nil when the file is not laid out as expected or has no pod.
    static func podsRange(_ data: Data) -> Range<Data.Index>? {
        let open = Data("\n  \"pods\" : [\n".utf8), close = Data("\n  ]".utf8)
        guard let opening = data.locate(open), let closing = data.locate(close, in: opening.upperBound..<data.endIndex) else {
            return nil
        }
        return opening.upperBound..<closing.lowerBound
    }

    /// The top-level `"policy"` field of a file laid out as `LabState.topologyEncoder` writes it:
    /// `field` from the line break before its key through the comma after its value, `value`
    /// its value; nil when it is missing, written twice, or last (the keys are sorted: `proxy`
    /// and `services` follow it). Only the field's own line is indented by two spaces: its
    /// value's lines are indented further, and none of its strings holds a line break.
    static func policyField(_ data: Data) -> (field: Range<Data.Index>, value: Range<Data.Index>)? {
        let key = Data("\n  \"policy\" : ".utf8)
        guard let start = data.locate(key), data.locate(key, in: start.upperBound..<data.endIndex) == nil,
              let next = data.locate(Data("\n  \"".utf8), in: start.upperBound..<data.endIndex),
              next.lowerBound > start.upperBound, data[next.lowerBound - 1] == UInt8(ascii: ",") else { return nil }
        return (start.lowerBound..<next.lowerBound, start.upperBound..<(next.lowerBound - 1))
    }

    /// The file with an empty `pods` array in place of `pods` (its `podsRange`).
    static func withoutPods(_ data: Data, _ pods: Range<Data.Index>) -> Data {
        Data(data[..<(pods.lowerBound - 1)] + data[pods.upperBound...])
    }
}
