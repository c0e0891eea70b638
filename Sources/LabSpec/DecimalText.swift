/// A number as lab files and the command line write one: plain decimal digits with at most
/// one point (`12`, `1.5`), never `1e3`, `+1`, `.5`, `1.` or `inf`. Durations, rates,
/// percentages and measurement bounds all read their numbers here, so they accept the same
/// text.
struct DecimalText {
    /// At most 9 digits: any of them times a unit's scale fits in 64 bits.
    let whole: Substring
    /// The digits after the point; empty when there is no point.
    let fraction: Substring

    /// Nil for anything else, or for more than `maxFractionDigits` digits after the point.
    init?(_ text: Substring, maxFractionDigits: Int = 9) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts[0].count <= 9,
              parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return nil }
        whole = parts[0]
        fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.count <= maxFractionDigits else { return nil }
    }

    /// The number times `scale`, computed in integers so the same text always gives the same
    /// value; nil when that is not whole (`0.5ms` in milliseconds is, in microseconds it is not).
    func scaled(by scale: UInt64) -> UInt64? {
        let total = UInt64(whole)! * scale
        guard !fraction.isEmpty else { return total }
        var divisor: UInt64 = 1
        for _ in fraction { divisor *= 10 }
        let part = UInt64(fraction)! * scale
        guard part % divisor == 0 else { return nil }
        return total + part / divisor
    }

    var value: Double { Double(fraction.isEmpty ? String(whole) : "\(whole).\(fraction)")! }
}
