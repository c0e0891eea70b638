/// The one loop behind every escaper `lab` writes (DOT and Mermaid labels, JUnit XML, quoted
/// report text): each Unicode scalar replaced by its entry in a table, else by what `otherwise`
/// makes of it, else kept. Scalars, not Characters: "\r\n" is one Character and would slip past
/// a table that names "\n".
public enum TextEscaping {
    public static func escape(_ scalars: String.UnicodeScalarView.SubSequence, _ table: [Unicode.Scalar: String],
                              otherwise: (Unicode.Scalar) -> String? = { _ in nil }) -> String {
        var out = ""
        for scalar in scalars {
            if let replacement = table[scalar] ?? otherwise(scalar) {
                out += replacement
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    public static func escape(_ text: String, _ table: [Unicode.Scalar: String],
                              otherwise: (Unicode.Scalar) -> String? = { _ in nil }) -> String {
        escape(text.unicodeScalars[...], table, otherwise: otherwise)
    }
}
