/// Decoding of URL components, as Go's `net/url` does it for agnhost: `/echo?msg=a+b%21`
/// answers `a b!`, byte for byte, even when the bytes are not UTF-8.
enum PercentDecoding {
    /// `%XX` becomes the byte XX; with `plusIsSpace` (query strings, HTML form encoding) `+`
    /// becomes a space. Nil when a `%` is not followed by two hex digits.
    static func decode(_ text: Substring, plusIsSpace: Bool) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+") where plusIsSpace:
                bytes.append(HTTPSyntax.space)
            default:
                bytes.append(byte)
            }
        }
        return bytes
    }

    enum Lookup: Equatable {
        case absent
        case found([UInt8])
        /// The parameter is there but its value is not valid percent-encoding.
        case malformed
    }

    /// The first value of parameter `name` in a query string (`a=1&msg=x`), decoded. Pairs
    /// whose name does not decode are skipped, as Go skips them; `&` and `;` are not
    /// distinguished beyond `&` separating pairs.
    static func value(of name: String, inQuery query: String) -> Lookup {
        let wanted = Array(name.utf8)
        for pair in query.split(separator: "&") {
            let key: Substring
            let value: Substring
            if let equals = pair.firstIndex(of: "=") {
                key = pair[..<equals]
                value = pair[pair.index(after: equals)...]
            } else {
                key = pair
                value = ""
            }
            guard decode(key, plusIsSpace: true) == wanted else { continue }
            guard let decoded = decode(value, plusIsSpace: true) else { return .malformed }
            return .found(decoded)
        }
        return .absent
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
