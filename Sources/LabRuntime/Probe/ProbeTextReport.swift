/// The report `lab verify` prints: one line per probe — `PASS`/`FAIL`, name, from → to, kind
/// and target, what was observed, time — a failure's explanation indented under it, the truth
/// table of every matrix, and last, alone on its line, `N passed, N failed`. Pure.
public enum ProbeTextReport {
    /// The whole report, columns aligned, ending in a newline.
    public static func render(_ results: [ProbeResult]) -> String {
        let rows = results.map(columns)
        let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var out = ""
        for (result, row) in zip(results, rows) {
            let padded = (0..<4).map { ProbeFormat.pad(row[$0], widths[$0]) }
            out += (padded + [row[4]]).joined(separator: "  ") + "\n"
            if let explanation = result.explanation { out += "      \(explanation)\n" }
        }
        for table in TruthTable.tables(for: results) {
            out += "\n" + table.render()
        }
        if !results.isEmpty { out += "\n" }
        return out + summary(results) + "\n"
    }

    /// One probe's line (and its explanation), unaligned, for printing as probes finish.
    public static func line(_ result: ProbeResult) -> String {
        let row = columns(result)
        var text = (row[0..<4] + [row[4]]).joined(separator: "  ")
        if let explanation = result.explanation { text += "\n      \(explanation)" }
        return text
    }

    /// `3 passed, 1 failed`.
    public static func summary(_ results: [ProbeResult]) -> String {
        let passed = results.filter(\.passed).count
        return "\(passed) passed, \(results.count - passed) failed"
    }

    /// Verdict, name, from → to, kind and target, observed with time.
    private static func columns(_ result: ProbeResult) -> [String] {
        let route = result.to.isEmpty ? result.from : "\(result.from) → \(result.to)"
        var time = ProbeFormat.duration(milliseconds: result.elapsedMilliseconds)
        if result.attempts > 1 { time += " (\(result.attempts) attempts)" }
        return [result.passed ? "PASS" : "FAIL", result.name, route, result.kindDescription, "\(result.observed)  \(time)"]
    }
}
