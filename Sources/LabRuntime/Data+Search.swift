import Foundation
import LabPlan

extension Data {
    /// Where `pattern` first occurs in `bounds` (all of the data when nil), by `ByteSearch`:
    /// Foundation's `range(of:)` took milliseconds over a 1,000-pod lab's `topology.json`, and a
    /// change of one policy searches it several times.
    func locate(_ pattern: Data, in bounds: Range<Index>? = nil) -> Range<Index>? {
        let bounds = bounds ?? startIndex..<endIndex
        let offset = self[bounds].withUnsafeBytes { text in pattern.withUnsafeBytes { ByteSearch.firstOffset(of: $0, in: text) } }
        return offset.map { (bounds.lowerBound + $0)..<(bounds.lowerBound + $0 + pattern.count) }
    }
}
