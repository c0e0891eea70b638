import Foundation
@testable import LabRuntime
import Testing

/// `Data.locate(_:in:)` against Foundation's `range(of:in:)`, which it stands in for. Pure.
struct DataSearchTests {
    @Test(arguments: ["abc", "a", "c", "cab", "abd", "bcabcx", "", "abcabcabcabcx"])
    func findsWhatFoundationFinds(_ pattern: String) {
        let data = Data("xxabcabcabcab\nc  \"policy\" : abc".utf8)
        let needle = Data(pattern.utf8)
        let bounds: [Range<Data.Index>?] = [nil, 0..<data.count, 3..<data.count, 2..<5, 5..<5, 0..<1]
        for range in bounds {
            let expected = pattern.isEmpty ? nil : (range.map { data.range(of: needle, in: $0) } ?? data.range(of: needle))
            #expect(data.locate(needle, in: range) == expected, "\(pattern) in \(String(describing: range))")
        }
        // A slice keeps its parent's indices.
        let slice = data[4...]
        #expect(slice.locate(needle) == (pattern.isEmpty ? nil : slice.range(of: needle)))
    }
}
