/// RFC 4648 base32 with the standard alphabet and `=` padding — Go's `base32.StdEncoding`, which
/// kube-proxy applies to a SHA-256 digest to make chain names. Only encoding is needed.
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let input = Array(bytes)
        var output = ""
        // Every 5 input bytes (40 bits) become 8 symbols; a short last group is padded.
        for groupStart in stride(from: 0, to: input.count, by: 5) {
            let group = input[groupStart..<min(groupStart + 5, input.count)]
            var bits: UInt64 = 0
            for (i, byte) in group.enumerated() { bits |= UInt64(byte) << UInt64(32 - 8 * i) }
            // Symbols that carry at least one real bit: ceil(8 * bytes / 5).
            let symbols = (group.count * 8 + 4) / 5
            for i in 0..<8 {
                if i < symbols {
                    output.append(alphabet[Int((bits >> UInt64(35 - 5 * i)) & 0x1f)])
                } else {
                    output.append("=")
                }
            }
        }
        return output
    }
}
