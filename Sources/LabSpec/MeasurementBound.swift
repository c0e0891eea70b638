/// A bound on a measurement in `expect`: `rtt: "<5ms"`, `loss: "0%"`, `loss: "<1%"`.
/// Parsed here so that validation and `lab verify` read the text the same way. A bare value
/// (`5ms`, `0%`) is an upper bound, inclusive.
public struct MeasurementBound: Sendable, Hashable, CustomStringConvertible {
    public enum Comparison: String, Sendable, Hashable, CaseIterable {
        case lessThan = "<"
        case lessOrEqual = "<="
        case greaterThan = ">"
        case greaterOrEqual = ">="
    }

    public var comparison: Comparison
    /// Milliseconds for a round-trip time, percent for a loss.
    public var value: Double

    public init(comparison: Comparison, value: Double) {
        self.comparison = comparison
        self.value = value
    }

    /// Whether a measured value (same unit as `value`) satisfies the bound.
    public func admits(_ measured: Double) -> Bool {
        switch comparison {
        case .lessThan: return measured < value
        case .lessOrEqual: return measured <= value
        case .greaterThan: return measured > value
        case .greaterOrEqual: return measured >= value
        }
    }

    public var description: String { "\(comparison.rawValue)\(value)" }

    /// A round-trip-time bound in milliseconds: `<5ms`, `<=1.5ms`, `>=200us`, `<1s`.
    public static func rtt(_ text: String) -> MeasurementBound? {
        let (comparison, rest) = splitComparison(text)
        let units: [(suffix: String, milliseconds: Double)] = [("us", 0.001), ("µs", 0.001), ("ms", 1), ("s", 1000)]
        guard let unit = units.first(where: { rest.hasSuffix($0.suffix) }),
              let number = DecimalText(rest.dropLast(unit.suffix.count), maxFractionDigits: .max) else { return nil }
        return MeasurementBound(comparison: comparison, value: number.value * unit.milliseconds)
    }

    /// A packet-loss bound in percent, 0...100: `0%`, `<1%`, `<=50%`.
    public static func loss(_ text: String) -> MeasurementBound? {
        let (comparison, rest) = splitComparison(text)
        guard rest.hasSuffix("%"), let number = DecimalText(rest.dropLast(), maxFractionDigits: .max)?.value, number <= 100 else { return nil }
        return MeasurementBound(comparison: comparison, value: number)
    }

    private static func splitComparison(_ text: String) -> (Comparison, Substring) {
        let trimmed = Substring(text).drop(while: { $0 == " " })
        // Two-character comparisons first, so "<=" is not read as "<" followed by "=5ms".
        for comparison in [Comparison.lessOrEqual, .greaterOrEqual, .lessThan, .greaterThan]
            where trimmed.hasPrefix(comparison.rawValue) {
            return (comparison, trimmed.dropFirst(comparison.rawValue.count).drop(while: { $0 == " " }))
        }
        return (.lessOrEqual, trimmed)
    }
}

extension MeasurementBound {
    /// The bound as a lab file writes it: `<5ms`, `<=0%` (the shortest text of the number).
    public func text(unit: String) -> String {
        let number = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        return "\(comparison.rawValue)\(number)\(unit)"
    }
}
