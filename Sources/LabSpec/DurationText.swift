/// Durations as lab files write them: `2s`, `500ms`, `1.5s`, `1m`. Parsed with integer
/// arithmetic so `1.1s` is exactly 1100 ms, not 1100.0000000000002.
public enum DurationText {
    private static let units: [(suffix: String, milliseconds: Int)] = [("ms", 1), ("s", 1000), ("m", 60_000)]

    /// Whole milliseconds, or nil for text that is not a non-negative duration with a unit or
    /// that is finer than a millisecond (`0.5ms`).
    public static func milliseconds(_ text: String) -> Int? {
        // "ms" before "s" and "m": the longest suffix wins.
        guard let unit = units.first(where: { text.hasSuffix($0.suffix) }) else { return nil }
        let number = text.dropLast(unit.suffix.count)
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = parts.first, !whole.isEmpty, whole.count <= 9,
              whole.allSatisfy({ $0.isASCII && $0.isNumber }), let wholeValue = Int(whole) else { return nil }
        var total = wholeValue * unit.milliseconds
        if parts.count == 2 {
            let fraction = parts[1]
            guard !fraction.isEmpty, fraction.count <= 6, fraction.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let fractionValue = Int(fraction) else { return nil }
            var scale = 1
            for _ in 0..<fraction.count { scale *= 10 }
            let scaled = fractionValue * unit.milliseconds
            guard scaled % scale == 0 else { return nil }
            total += scaled / scale
        }
        return total
    }
}
