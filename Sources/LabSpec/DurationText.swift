/// Durations as lab files write them: `2s`, `500ms`, `1.5s`, `1m`. Parsed with integer
/// arithmetic so `1.1s` is exactly 1100 ms, not 1100.0000000000002.
public enum DurationText {
    private static let units: [(suffix: String, milliseconds: Int)] = [("ms", 1), ("s", 1000), ("m", 60_000)]

    /// Whole milliseconds, or nil for text that is not a non-negative duration with a unit or
    /// that is finer than a millisecond (`0.5ms`).
    public static func milliseconds(_ text: String) -> Int? {
        // "ms" before "s" and "m": the longest suffix wins.
        guard let unit = units.first(where: { text.hasSuffix($0.suffix) }) else { return nil }
        guard let number = DecimalText(Substring(text).dropLast(unit.suffix.count), maxFractionDigits: 6),
              let total = number.scaled(by: UInt64(unit.milliseconds)) else { return nil }
        return Int(total)
    }
}
