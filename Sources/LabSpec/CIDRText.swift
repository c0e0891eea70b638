import LabAddress

/// Explains why text is not a CIDR, because "not a CIDR" alone does not tell a user who wrote
/// `10.244.1.5/16` (host bits set) what to write instead.
enum CIDRText {
    static func problem(_ text: String) -> String {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 1, IPv4Address(text) != nil {
            return "\(text) has no prefix length; write it like \(text)/24"
        }
        guard parts.count == 2, let address = IPv4Address(String(parts[0])) else {
            return "\"\(text)\" is not an IPv4 CIDR like 10.0.0.0/24"
        }
        guard parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let length = Int(parts[1]), (0...32).contains(length) else {
            return "\"\(text)\" has an invalid prefix length; it must be 0...32"
        }
        let network = IPv4Network(containing: address, prefixLength: length)
        return "\(text) has host bits set; did you mean \(network)?"
    }
}
