/// "Did you mean" support: most mistakes in a hand-written lab file are a typo or the wrong
/// case of a word the schema knows (`podCidr`, `nmae`, `clusterip`), so we measure the
/// optimal-string-alignment distance (Levenshtein plus adjacent transpositions).
public enum EditDistance {
    /// Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`.
    static func between(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        // Three rolling rows: the transposition step looks two rows back.
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    best = min(best, previous2[j - 2] + 1)
                }
                current[j] = best
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }

    /// The candidate `word` was most likely meant as: a case-insensitive match first, else the
    /// nearest within two edits. A candidate is never suggested when the edits would rewrite
    /// most of it (`to` for `ip`), because then the hint misleads more than it helps.
    public static func suggestion(for word: String, among candidates: some Sequence<String>) -> String? {
        guard word.unicodeScalars.count <= 128 else { return nil }
        var best: (candidate: String, distance: Int)?
        let lowered = word.lowercased()
        for candidate in candidates where candidate != word {
            if candidate.lowercased() == lowered { return candidate }
            let distance = between(word, candidate)
            guard distance <= 2, distance < candidate.unicodeScalars.count, distance < word.unicodeScalars.count else { continue }
            if let current = best, current.distance <= distance { continue }
            best = (candidate, distance)
        }
        return best?.candidate
    }

    /// `; did you mean "x"?`, or nothing when no candidate is close.
    static func hint(for word: String, among candidates: some Sequence<String>) -> String {
        suggestion(for: word, among: candidates).map { "; did you mean \"\($0)\"?" } ?? ""
    }
}
