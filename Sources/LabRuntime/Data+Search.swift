import Foundation

extension Data {
    /// Where `pattern` first occurs in `bounds` (all of the data when nil), by `memchr` and
    /// `memcmp`: Foundation's `range(of:)` took milliseconds over a 1,000-pod lab's
    /// `topology.json`, and a change of one policy searches it several times.
    func locate(_ pattern: Data, in bounds: Range<Index>? = nil) -> Range<Index>? {
        let bounds = bounds ?? startIndex..<endIndex
        guard !pattern.isEmpty, bounds.count >= pattern.count else { return nil }
        let offset: Int? = self[bounds].withUnsafeBytes { haystack in
            pattern.withUnsafeBytes { needle in
                let start = haystack.baseAddress!, last = haystack.count - needle.count
                var from = 0
                while from <= last, let found = memchr(start + from, Int32(needle[0]), last - from + 1) {
                    let at = UnsafeRawPointer(found) - start
                    if memcmp(found, needle.baseAddress!, needle.count) == 0 { return at }
                    from = at + 1
                }
                return nil
            }
        }
        return offset.map { (bounds.lowerBound + $0)..<(bounds.lowerBound + $0 + pattern.count) }
    }
}
