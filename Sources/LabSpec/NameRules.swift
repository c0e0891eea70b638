/// The spelling rules for names in a lab file. Each returns nil when the text is fine, else
/// the end of a sentence saying what is wrong, so every caller words its errors the same way.
///
/// Names end up in kernel object names, `/run/lab/<lab>` paths and Kubernetes-style DNS names,
/// which is why they are stricter than YAML.
public enum NameRules {
    public static let maximumLabNameLength = 24

    /// The lab name prefixes every namespace and state path, so it is short as well as DNS-safe.
    public static func labName(_ name: String) -> String? {
        label(name, maximumLength: maximumLabNameLength)
    }

    /// An RFC 1123 label: what Kubernetes requires of pod, node, service and namespace names.
    static func dnsLabel(_ name: String) -> String? {
        label(name, maximumLength: 63)
    }

    /// An RFC 1123 subdomain (`cluster.local`): dot-separated labels, at most 253 characters.
    static func dnsSubdomain(_ name: String) -> String? {
        if name.isEmpty { return "must not be empty" }
        if name.count > 253 { return "is \(name.count) characters long; at most 253 are allowed" }
        for part in name.split(separator: ".", omittingEmptySubsequences: false) {
            if let problem = dnsLabel(String(part)) { return "has a label \"\(part)\" that \(problem)" }
        }
        return nil
    }

    private static func label(_ name: String, maximumLength: Int) -> String? {
        if name.isEmpty { return "must not be empty" }
        if name.unicodeScalars.count > maximumLength {
            return "is \(name.unicodeScalars.count) characters long; at most \(maximumLength) are allowed"
        }
        if let bad = name.unicodeScalars.first(where: { !isLowerAlphanumeric($0) && $0 != "-" }) {
            let shown = bad.properties.isWhitespace || bad.value < 0x20 ? "U+\(String(bad.value, radix: 16, uppercase: true))" : "\"\(bad)\""
            let lowered = name.lowercased()
            let hint = lowered != name && dnsLabelIsValid(lowered, maximumLength: maximumLength) ? "; did you mean \"\(lowered)\"?" : ""
            return "may only contain lowercase letters, digits and \"-\" (found \(shown))\(hint)"
        }
        if name.first == "-" || name.last == "-" { return "must start and end with a letter or digit" }
        return nil
    }

    private static func dnsLabelIsValid(_ name: String, maximumLength: Int) -> Bool {
        !name.isEmpty && name.unicodeScalars.count <= maximumLength && name.first != "-" && name.last != "-"
            && name.unicodeScalars.allSatisfy { isLowerAlphanumeric($0) || $0 == "-" }
    }

    /// A DNS name as a resolver takes it: labels of 1 to 63 letters, digits, `-` or `_` (SRV
    /// names start with `_http._tcp`), at most 253 characters, an optional trailing dot. A name
    /// of digits and dots only is a mistyped address, not a name.
    public static func dnsName(_ name: String) -> String? {
        if name.isEmpty { return "is not a DNS name: it is empty" }
        let body = name.hasSuffix(".") ? String(name.dropLast()) : name
        if body.isEmpty { return "is not a DNS name: the root alone names nothing to look up" }
        if body.unicodeScalars.count > 253 { return "is not a DNS name: it is longer than 253 characters" }
        let labels = body.split(separator: ".", omittingEmptySubsequences: false)
        if labels.contains(where: \.isEmpty) { return "is not a DNS name: it has an empty label (two dots in a row, or a leading dot)" }
        if let long = labels.first(where: { $0.unicodeScalars.count > 63 }) {
            return "is not a DNS name: label \"\(long.prefix(20))…\" is longer than 63 characters"
        }
        let allowed = { (s: Unicode.Scalar) in s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || s == "-" || s == "_") }
        if let bad = body.unicodeScalars.first(where: { $0 != "." && !allowed($0) }) {
            let shown = bad.properties.isWhitespace || bad.value < 0x20 ? "U+\(String(bad.value, radix: 16, uppercase: true))" : "\"\(bad)\""
            return "is not a DNS name: it may only contain letters, digits, \"-\", \"_\" and dots (found \(shown))"
        }
        if labels.allSatisfy({ $0.unicodeScalars.allSatisfy { ("0"..."9").contains($0) } }) {
            return "is neither an IPv4 address nor a DNS name"
        }
        return nil
    }

    /// A Kubernetes label key: an optional DNS-subdomain prefix and `/`, then a name of at most
    /// 63 characters of `[A-Za-z0-9._-]` that starts and ends alphanumeric.
    static func labelKey(_ key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return "may contain at most one \"/\"" }
        if parts.count == 2 {
            let prefix = String(parts[0])
            if prefix.isEmpty || prefix.count > 253 { return "has a prefix that is empty or longer than 253 characters" }
            if dnsSubdomain(prefix) != nil {
                return "has a prefix \"\(prefix)\" that is not a DNS subdomain (like example.com)"
            }
        }
        let name = String(parts.last ?? "")
        if name.isEmpty { return "must not be empty" }
        return labelText(name)
    }

    /// A Kubernetes label value: empty, or a label-key name.
    static func labelValue(_ value: String) -> String? {
        value.isEmpty ? nil : labelText(value)
    }

    private static func labelText(_ text: String) -> String? {
        if text.unicodeScalars.count > 63 { return "is longer than 63 characters" }
        let allowed = text.unicodeScalars.allSatisfy { isAlphanumeric($0) || $0 == "-" || $0 == "_" || $0 == "." }
        if !allowed { return "may only contain letters, digits, \"-\", \"_\" and \".\"" }
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last,
              isAlphanumeric(first), isAlphanumeric(last) else { return "must start and end with a letter or digit" }
        return nil
    }

    /// An environment variable name: the kernel passes anything without `=` or NUL, but a name
    /// a shell cannot expand is almost always a mistake, so we ask for the portable form.
    static func environmentName(_ name: String) -> String? {
        guard let first = name.unicodeScalars.first else { return "must not be empty" }
        let valid = (first == "_" || isLetter(first))
            && name.unicodeScalars.allSatisfy { $0 == "_" || isAlphanumeric($0) }
        return valid ? nil : "is not a valid environment variable name (letters, digits and \"_\", not starting with a digit)"
    }

    /// A Kubernetes port name (IANA service name): at most 15 characters of `[a-z0-9-]`, at
    /// least one letter, no leading, trailing or doubled `-`.
    static func portName(_ name: String) -> String? {
        if let problem = dnsLabel(name) { return problem }
        if name.unicodeScalars.count > 15 { return "is longer than 15 characters" }
        if !name.unicodeScalars.contains(where: isLetter) { return "must contain at least one letter" }
        if name.contains("--") { return "must not contain \"--\"" }
        return nil
    }

    private static func isLowerAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
    }

    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        isLetter(scalar) || ("0"..."9").contains(scalar)
    }
}
