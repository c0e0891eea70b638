/// A rule as the tools that list a live ruleset print it, from the text `lab` loads: the
/// expected path quotes rules in the words a reader of `iptables-save` or `nft list ruleset`
/// on the node will find, not in the restore input's order.
public enum SavedRuleText {
    /// `iptables-save`'s line for an `iptables-restore` line of kube-proxy's layout.
    ///
    /// iptables prints the fixed fields first (`-s`, `-d`, `-i`, `-o`, `-p`, addresses with their
    /// mask), then each match in the order given with its options as the extension saves them,
    /// then the target: `--or-mark M` is kept as `--set-xmark M/M`, `--xor-mark M` as
    /// `--set-xmark M/0x0`, a probability as the 31-bit fraction the kernel stores.
    public static func iptablesSave(_ restoreLine: String) -> String {
        let tokens = split(restoreLine)
        guard tokens.count >= 2, tokens[0] == "-A" else { return restoreLine }
        var fixed: [String: (negated: Bool, value: String)] = [:]
        var matches: [[String]] = []
        var target: [String] = []
        var negate = false
        var i = 2
        while i < tokens.count {
            let token = tokens[i]
            switch token {
            case "!":
                negate = true
                i += 1
                continue
            case "-s", "-d", "-i", "-o", "-p":
                if i + 1 < tokens.count { fixed[token] = (negate, tokens[i + 1]) }
                i += 2
            case "-m":
                if i + 1 < tokens.count { matches.append(["-m", tokens[i + 1]]) }
                i += 2
            case "-j":
                target = Array(tokens[(i + 1)...])
                i = tokens.count
            default:
                // An option of the last match; `!` binds to the option after it.
                if matches.isEmpty { matches.append([]) }
                if negate { matches[matches.count - 1].append("!") }
                matches[matches.count - 1].append(token)
                if i + 1 < tokens.count, !tokens[i + 1].hasPrefix("-") || Int(tokens[i + 1]) != nil {
                    matches[matches.count - 1].append(tokens[i + 1])
                    i += 2
                } else {
                    i += 1
                }
            }
            negate = false
        }
        var out = ["-A", tokens[1]]
        for key in ["-s", "-d", "-i", "-o", "-p"] {
            guard let (negated, value) = fixed[key] else { continue }
            if negated { out.append("!") }
            out.append(key)
            out.append((key == "-s" || key == "-d") && !value.contains("/") ? value + "/32" : value)
        }
        for match in matches { out += savedMatch(match) }
        if !target.isEmpty { out += ["-j"] + savedTarget(target) }
        return out.joined(separator: " ")
    }

    static func savedMatch(_ match: [String]) -> [String] {
        guard match.count >= 2 else { return match }
        var out = Array(match.prefix(2))
        var i = 2
        while i < match.count {
            let token = match[i]
            if token == "--comment", i + 1 < match.count {
                out += [token, quotedForSave(match[i + 1])]
                i += 2
            } else if token == "--probability", i + 1 < match.count {
                out += [token, probabilityAsSaved(match[i + 1])]
                i += 2
            } else {
                out.append(token)
                i += 1
            }
        }
        return out
    }

    static func savedTarget(_ target: [String]) -> [String] {
        guard target.count == 3, target[0] == "MARK" else { return target }
        switch target[1] {
        case "--or-mark": return ["MARK", "--set-xmark", "\(target[2])/\(target[2])"]
        case "--xor-mark": return ["MARK", "--set-xmark", "\(target[2])/0x0"]
        default: return target
        }
    }

    /// libxtables' `xtables_save_string`: bare when only letters, digits, `_` and `-`, else in
    /// double quotes with `"`, `\` and `'` escaped.
    static func quotedForSave(_ value: String) -> String {
        let bare = !value.isEmpty && value.unicodeScalars.allSatisfy {
            ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "_" || $0 == "-"
        }
        if bare { return value }
        var escaped = ""
        for character in value {
            if character == "\"" || character == "\\" || character == "'" { escaped.append("\\") }
            escaped.append(character)
        }
        return "\"\(escaped)\""
    }

    /// libxt_statistic keeps `lround(p × 2^31)` and prints it back with `%.11f`, so
    /// 0.3333333333 is listed as 0.33333333349.
    public static func probabilityAsSaved(_ text: String) -> String {
        guard let value = Double(text) else { return text }
        let stored = UInt64((value * 2147483648.0).rounded(.toNearestOrAwayFromZero))
        // stored / 2^31 to 11 decimals, rounded half to even on the exact binary value.
        let scale: UInt64 = 100_000_000_000
        let product = stored.multipliedFullWidth(by: scale)
        // (high:low) >> 31 with the remainder compared to one half.
        let quotient = (product.low >> 31) | (product.high << 33)
        let remainder = product.low & ((1 << 31) - 1)
        var digits = quotient
        let half: UInt64 = 1 << 30
        if remainder > half || (remainder == half && digits % 2 == 1) { digits += 1 }
        let whole = digits / scale
        let fraction = String(digits % scale)
        return "\(whole)." + String(repeating: "0", count: 11 - fraction.count) + fraction
    }

    /// Splits a restore line into arguments the way iptables-restore does: on blanks, except
    /// inside double quotes.
    static func split(_ line: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        var quoted = false
        var hasToken = false
        for character in line {
            if character == "\"" {
                quoted.toggle()
                hasToken = true
            } else if character == " " && !quoted {
                if hasToken { tokens.append(current) }
                current = ""
                hasToken = false
            } else {
                current.append(character)
                hasToken = true
            }
        }
        if hasToken { tokens.append(current) }
        return tokens
    }

    /// `nft list ruleset`'s line for the body of an `add rule ip kube-proxy CHAIN …` command:
    /// nft lists a verdict map's elements separated by `, `, a `dnat` in an `ip` table as
    /// `dnat to`, and a packet mark in its long form: `mark` as `meta mark`, `or`/`and`/`xor`
    /// as `|`/`&`/`^`, and each constant of the mark expression as 32-bit hex
    /// (`mark set mark xor 0x4000` is listed `meta mark set meta mark ^ 0x00004000`,
    /// `mark and 0x4000 == 0 return` is `meta mark & 0x00004000 == 0x00000000 return`); an
    /// anonymous set of one element as that element.
    public static func nftList(_ ruleBody: String) -> String {
        let words = ruleBody.replacingAll(" , ", with: ", ").split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        var out: [String] = []
        var inMark = false
        for word in words {
            switch word {
            case "mark":
                // `meta mark`, unless it is already spelled so or names another mark (`ct mark`).
                if let last = out.last, last == "meta" || last == "ct" {
                    inMark = last == "meta"
                    out.append(word)
                } else {
                    out += ["meta", "mark"]
                    inMark = true
                }
            case "or" where inMark: out.append("|")
            case "and" where inMark: out.append("&")
            case "xor" where inMark: out.append("^")
            case "set" where inMark, "meta" where inMark, "|", "&", "^", "==", "!=":
                out.append(word)
            default:
                if inMark, let value = markConstant(word) {
                    out.append(value)
                } else {
                    inMark = false
                    out.append(word)
                }
            }
        }
        // An anonymous set of one element is loaded as a plain comparison, and listed so:
        // `ip daddr { 10.96.0.0/16 } drop` is `ip daddr 10.96.0.0/16 drop` (a map keeps its braces).
        var collapsed: [String] = []
        var index = 0
        while index < out.count {
            if out[index] == "{", index + 2 < out.count, out[index + 2] == "}", !["map", "vmap"].contains(collapsed.last ?? ""),
               !out[index + 1].hasSuffix(",") {
                collapsed.append(out[index + 1])
                index += 3
            } else {
                collapsed.append(out[index])
                index += 1
            }
        }
        return collapsed.joined(separator: " ")
    }

    /// A mark constant (`0x4000`, `0`, `16384`) as nft lists it: `0x` and eight hex digits.
    static func markConstant(_ word: String) -> String? {
        let value: UInt32?
        if word.hasPrefix("0x") { value = UInt32(word.dropFirst(2), radix: 16) } else { value = UInt32(word) }
        guard let value else { return nil }
        let hex = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - hex.count) + hex
    }
}

extension String {
    /// Every occurrence of `target` replaced (LabPlan does without Foundation).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
