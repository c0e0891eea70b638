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
        return summary(passed: passed, failed: results.count - passed)
    }

    /// `3 passed, 1 failed`, and `, 19906 not run (interrupted)` when some never finished.
    public static func summary(passed: Int, failed: Int, notRun: Int = 0) -> String {
        "\(passed) passed, \(failed) failed" + (notRun > 0 ? ", \(notRun) not run (interrupted)" : "")
    }

    /// The widths `render` would give the aligned columns, known before any probe has run
    /// (verdict, name, route, kind and target), so lines can be printed as probes finish and
    /// still line up.
    public static func widths(for tasks: [ProbeTask]) -> [Int] {
        var widths = [4, 0, 0, 0]
        for task in tasks {
            widths[1] = max(widths[1], task.name.count)
            widths[2] = max(widths[2], route(from: task.from, to: task.to).count)
            widths[3] = max(widths[3], ProbeResult.kindDescription(action: task.action, endpoint: task.endpoint, byName: task.namedTarget).count)
        }
        return widths
    }

    /// One probe's line (and its explanation) aligned to `widths`, ending in a newline: the
    /// lines of `render`, one at a time.
    public static func line(_ result: ProbeResult, widths: [Int]) -> String {
        let row = columns(result)
        let padded = (0..<4).map { ProbeFormat.pad(row[$0], widths[$0]) }
        var out = (padded + [row[4]]).joined(separator: "  ") + "\n"
        if let explanation = result.explanation { out += "      \(explanation)\n" }
        return out
    }

    private static func route(from: String, to: String) -> String { to.isEmpty ? from : "\(from) → \(to)" }

    /// Verdict, name, from → to, kind and target, observed with time.
    private static func columns(_ result: ProbeResult) -> [String] {
        let route = route(from: result.from, to: result.to)
        var time = ProbeFormat.duration(milliseconds: result.elapsedMilliseconds)
        if result.attempts > 1 { time += " (\(result.attempts) attempts)" }
        return [result.passed ? "PASS" : "FAIL", result.name, route, result.kindDescription, "\(result.observed)  \(time)"]
    }
}
