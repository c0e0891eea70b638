/// What a link does to the packets that cross it, in both directions: each direction is
/// delayed, thinned and shaped on its own, as Mininet's `TCLink` and netlab apply their link
/// parameters (so a ping across one impaired link sees the delay twice).
public struct LinkImpairment: Sendable, Hashable, Codable {
    /// Added to every packet, in microseconds (the precision `tc` works in).
    public var delayMicroseconds: Int?
    /// Spread of the delay (uniform, ± this much), in microseconds; needs a delay.
    public var jitterMicroseconds: Int?
    /// The probability that a packet is dropped, 0…1.
    public var loss: Double?
    /// The most a direction carries, in bits per second.
    public var rateBitsPerSecond: UInt64?

    public init(delayMicroseconds: Int? = nil, jitterMicroseconds: Int? = nil, loss: Double? = nil,
                rateBitsPerSecond: UInt64? = nil) {
        self.delayMicroseconds = delayMicroseconds
        self.jitterMicroseconds = jitterMicroseconds
        self.loss = loss
        self.rateBitsPerSecond = rateBitsPerSecond
    }

    /// Nothing to do: `link: {}`, or only zeros.
    public var isEmpty: Bool {
        (delayMicroseconds ?? 0) == 0 && (jitterMicroseconds ?? 0) == 0 && (loss ?? 0) == 0 && rateBitsPerSecond == nil
    }

    /// Whether the impairment needs a queue that holds packets back (netem).
    public var delays: Bool { (delayMicroseconds ?? 0) > 0 || (jitterMicroseconds ?? 0) > 0 }

    /// `delay 20ms jitter 5ms loss 1% rate 10mbit`, as `lab status` shows it.
    public var summary: String {
        Self.fields.compactMap { field in field.text(self).map { "\(field.name) \($0)" } }.joined(separator: " ")
    }
}

extension LinkImpairment {
    /// One of the four values: its key (in `link:` and as a `lab fault impair` option), how its
    /// text is read and written, and the words of its errors. A lab file and the command line
    /// read them, and `summary` writes them, through this one table.
    public struct Field {
        public let name: String
        let read: (String, inout LinkImpairment) -> ImpairmentText.Failure?
        /// The value as a lab file writes it; nil when it is not set.
        let text: (LinkImpairment) -> String?
        let example: String
        let range: String?

        /// Sets the value `text` says; nil, or the one line that says what is wrong with it.
        public func set(_ text: String, in impairment: inout LinkImpairment) -> String? {
            read(text, &impairment).map { ImpairmentText.problem($0, what: name, text: text, example: example, range: range) }
        }
    }

    /// `delay`, `jitter`, `loss`, `rate`, in that order.
    public static var fields: [Field] {
        [field("delay", \.delayMicroseconds, example: "20ms", ImpairmentText.microseconds, ImpairmentText.duration),
         field("jitter", \.jitterMicroseconds, example: "5ms", ImpairmentText.microseconds, ImpairmentText.duration),
         field("loss", \.loss, example: "1%", range: "0% to 100%", ImpairmentText.fraction, ImpairmentText.percent),
         field("rate", \.rateBitsPerSecond, example: "10mbit", range: "8kbit to 100gbit", ImpairmentText.bitsPerSecond,
               ImpairmentText.rate)]
    }

    private static func field<Value>(_ name: String, _ value: WritableKeyPath<LinkImpairment, Value?>, example: String,
                                     range: String? = nil, _ parse: @escaping (String) -> Result<Value, ImpairmentText.Failure>,
                                     _ format: @escaping (Value) -> String) -> Field {
        Field(name: name, read: { text, impairment in
            switch parse(text) {
            case .success(let parsed):
                impairment[keyPath: value] = parsed
                return nil
            case .failure(let failure):
                return failure
            }
        }, text: { $0[keyPath: value].map(format) }, example: example, range: range)
    }
}

/// Impairment values as people write them: `20ms`, `1.5s`, `250us`; `1%`, `0.5%`; `512kbit`,
/// `10mbit`, `1gbit` (bits, decimal prefixes, as `tc` reads them). Parsed with integer
/// arithmetic so the same text always gives the same value.
public enum ImpairmentText {
    public static let durationUnits: [(suffix: String, microseconds: Int)] = [("us", 1), ("µs", 1), ("ms", 1000), ("s", 1_000_000)]
    public static let rateUnits: [(suffix: String, bits: UInt64)] = [
        ("bit", 1), ("kbit", 1000), ("mbit", 1_000_000), ("gbit", 1_000_000_000),
    ]
    private static let durationMisspellings: [String: String] = [
        "msec": "ms", "msecs": "ms", "millisecond": "ms", "milliseconds": "ms", "sec": "s", "secs": "s", "second": "s",
        "seconds": "s", "usec": "us", "usecs": "us", "microsecond": "us", "microseconds": "us", "mil": "ms",
    ]
    /// Spellings that mean bytes, or are ambiguous, and what to write instead.
    private static let rateMisspellings: [String: String] = [
        "kbps": "kbit (kbps means kilobytes per second to tc; write 8kbit per kbps)",
        "mbps": "mbit", "gbps": "gbit", "kb": "kbit", "mb": "mbit", "gb": "gbit", "k": "kbit", "m": "mbit", "g": "gbit",
        "kbits": "kbit", "mbits": "mbit", "gbits": "gbit", "bps": "bit", "bits": "bit",
        "kbit/s": "kbit", "mbit/s": "mbit", "gbit/s": "gbit",
    ]

    public enum Failure: Error, Equatable {
        /// Not a number with a unit; `hint` is what to write instead, when a unit is close.
        case unparsable(hint: String?)
        case negative
        case outOfRange
    }

    /// What is wrong with `text`, given for `what` (`delay`), in one line: the same words in a
    /// lab file and on the command line.
    public static func problem(_ failure: Failure, what: String, text: String, example: String, range: String?) -> String {
        switch failure {
        case .negative:
            return "\(what) \(text) is negative; write a value like \(example)"
        case .outOfRange:
            return "\(what) \(text) is out of range\(range.map { " \($0)" } ?? "")"
        case .unparsable(let hint?):
            return "\(what) \"\(text)\" is not understood; did you mean \(hint)? (like \(example))"
        case .unparsable(nil):
            return "\(what) \"\(text)\" is not understood; write a value like \(example)"
        }
    }

    /// Microseconds, for text like `20ms`.
    public static func microseconds(_ text: String) -> Result<Int, Failure> {
        let trimmed = text.trimmingSpaces
        if trimmed.hasPrefix("-") { return .failure(.negative) }
        let (number, unit) = split(trimmed)
        guard let unitScale = durationUnits.first(where: { $0.suffix == unit })?.microseconds else {
            let hint = unit.isEmpty ? "a unit, like \(trimmed)ms"
                : durationMisspellings[unit.lowercased()] ?? EditDistance.suggestion(for: unit, among: durationUnits.map(\.suffix))
            return .failure(.unparsable(hint: hint))
        }
        guard let value = scaled(number, by: UInt64(unitScale)) else { return .failure(.unparsable(hint: nil)) }
        guard value <= 60_000_000 else { return .failure(.outOfRange) }
        return .success(Int(value))
    }

    /// Bits per second, for text like `10mbit`.
    public static func bitsPerSecond(_ text: String) -> Result<UInt64, Failure> {
        let trimmed = text.trimmingSpaces
        if trimmed.hasPrefix("-") { return .failure(.negative) }
        let (number, rawUnit) = split(trimmed)
        let unit = rawUnit.lowercased()
        guard let unitScale = rateUnits.first(where: { $0.suffix == unit })?.bits else {
            let hint = unit.isEmpty ? "a unit, like \(trimmed)mbit"
                : rateMisspellings[unit] ?? EditDistance.suggestion(for: unit, among: rateUnits.map(\.suffix))
            return .failure(.unparsable(hint: hint))
        }
        guard let value = scaled(number, by: unitScale) else { return .failure(.unparsable(hint: nil)) }
        // tbf's limits: 8 bits per second would take days to pass one packet; 100 Gbit is
        // more than a veth carries.
        guard (8_000...100_000_000_000).contains(value) else { return .failure(.outOfRange) }
        return .success(value)
    }

    /// A fraction 0…1, for text like `1%` or `0.5%`.
    public static func fraction(_ text: String) -> Result<Double, Failure> {
        let trimmed = text.trimmingSpaces
        if trimmed.hasPrefix("-") { return .failure(.negative) }
        guard trimmed.hasSuffix("%") else {
            return .failure(.unparsable(hint: trimmed.isEmpty ? nil : "a percentage, like \(trimmed)%"))
        }
        // Millionths of a percent: exact for the decimals people write.
        guard let value = scaled(String(trimmed.dropLast()).trimmingSpaces, by: 1_000_000) else { return .failure(.unparsable(hint: nil)) }
        guard value <= 100_000_000 else { return .failure(.outOfRange) }
        return .success(Double(value) / 100_000_000)
    }

    /// `20ms`, `1.5s`, `250us`: the shortest exact form.
    public static func duration(_ microseconds: Int) -> String {
        if microseconds % 1_000_000 == 0 { return "\(microseconds / 1_000_000)s" }
        if microseconds % 1000 == 0 { return "\(microseconds / 1000)ms" }
        return "\(microseconds)us"
    }

    /// `10mbit`, `1500kbit`, `1gbit`: the largest unit that keeps the value whole.
    public static func rate(_ bits: UInt64) -> String {
        for unit in rateUnits.reversed() where bits % unit.bits == 0 { return "\(bits / unit.bits)\(unit.suffix)" }
        return "\(bits)bit"
    }

    /// `1%`, `0.5%`.
    public static func percent(_ fraction: Double) -> String {
        let millionths = Int((fraction * 100_000_000).rounded())
        var text = String(millionths / 1_000_000)
        let rest = millionths % 1_000_000
        if rest != 0 {
            var digits = String(rest)
            digits = String(repeating: "0", count: 6 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text + "%"
    }

    /// The number and the unit after it: `12.5ms` → (`12.5`, `ms`).
    private static func split(_ text: String) -> (number: String, unit: String) {
        let number = text.prefix { ($0.isASCII && $0.isNumber) || $0 == "." }
        return (String(number), String(text.dropFirst(number.count)).trimmingSpaces)
    }

    /// `number` (decimal, at most 9 digits each side) times `scale`, when that is whole.
    private static func scaled(_ number: String, by scale: UInt64) -> UInt64? {
        DecimalText(Substring(number))?.scaled(by: scale)
    }
}

private extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
