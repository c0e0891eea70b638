import LabPlan

/// `lab verify --junit FILE`: JUnit XML as CI systems read it — one `testsuite`, one
/// `testcase` per probe, a `failure` whose message is the explanation, or an `error` when the
/// probe could not run at all. Pure and deterministic (no timestamp, no host name).
public enum ProbeJUnitReport {
    /// - Parameters:
    ///   - suite: the suite's name, e.g. `lab verify demo`.
    ///   - seconds: the wall time of the whole run; the sum of the probes' times otherwise
    ///     (which overstates a parallel run).
    public static func render(_ results: [ProbeResult], suite: String, seconds: Double? = nil) -> String {
        let errors = results.filter { !$0.passed && isError($0) }.count
        let failures = results.filter { !$0.passed }.count - errors
        let total = seconds ?? results.reduce(0) { $0 + $1.elapsedMilliseconds } / 1000
        return document(suite: suite, failures: failures, errors: errors, seconds: total,
                        testcases: results.map { testcase($0, suite: suite) })
    }

    /// The whole file from its `testcase`s (`testcase` or `notRun`, each ending in a newline).
    /// `skipped` counts the `notRun` among them.
    public static func document(suite: String, failures: Int, errors: Int, skipped: Int = 0, seconds: Double,
                                testcases: [String]) -> String {
        var out = ""
        document(suite: suite, tests: testcases.count, failures: failures, errors: errors, skipped: skipped, seconds: seconds,
                 testcase: { testcases[$0] }) { out += $0 }
        return out
    }

    /// The same, written piece by piece: `testcase(i)` gives the i-th element.
    public static func document(suite: String, tests: Int, failures: Int, errors: Int, skipped: Int, seconds: Double,
                                testcase: (Int) -> String, write: (String) -> Void) {
        write("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<testsuite name=\"\(escape(suite))\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"\(skipped)\" time=\"\(secondsText(seconds))\">\n")
        for index in 0..<tests { write(testcase(index)) }
        write("</testsuite>\n")
    }

    /// One probe's `testcase` element: what a streaming run keeps of a finished probe when
    /// JUnit is asked for.
    public static func testcase(_ result: ProbeResult, suite: String) -> String {
        // The class groups testcases in CI views: a matrix's pairs together.
        let classname = result.group ?? suite
        var out = "  <testcase classname=\"\(escape(classname))\" name=\"\(escape(result.name))\" time=\"\(secondsText(result.elapsedMilliseconds / 1000))\">\n"
        let observed = "\(result.from) → \(result.to): \(result.kindDescription): \(result.observed)"
        if let explanation = result.explanation {
            let element = isError(result) ? "error" : "failure"
            let type = result.tries.first { $0.outcome != .reached }?.outcome.rawValue ?? "expectation"
            out += "    <\(element) message=\"\(escape(explanation))\" type=\"\(escape(type))\">\(escape(observed))</\(element)>\n"
        }
        let output = result.tries.compactMap(\.output).filter { !$0.isEmpty }.joined(separator: "\n")
        out += "    <system-out>\(escape(output.isEmpty ? observed : observed + "\n" + output))</system-out>\n"
        return out + "  </testcase>\n"
    }

    /// A probe that never finished because the run was interrupted: skipped, so CI counts it
    /// neither passed nor failed.
    public static func notRun(_ task: ProbeTask, suite: String) -> String {
        "  <testcase classname=\"\(escape(task.group ?? suite))\" name=\"\(escape(task.name))\" time=\"0.000\">\n"
            + "    <skipped message=\"not run: lab verify was interrupted\"/>\n  </testcase>\n"
    }

    /// A step around the probes that failed (a scenario's fault not applied or not cleared):
    /// an error testcase, since the probes it guards could not be trusted.
    public static func stepError(_ name: String, _ message: String, suite: String) -> String {
        "  <testcase classname=\"\(escape(suite))\" name=\"\(escape(name))\" time=\"0.000\">\n"
            + "    <error message=\"\(escape(message))\" type=\"fault\">\(escape(message))</error>\n  </testcase>\n"
    }

    /// Several suites in one file (the lab's probes, then one suite per scenario): the
    /// documents `document` writes, under one `testsuites` root.
    public static func suites(_ documents: [String]) -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
        for document in documents {
            out += document.split(separator: "\n", omittingEmptySubsequences: false).drop { $0.hasPrefix("<?xml") }
                .joined(separator: "\n")
        }
        return out + "</testsuites>\n"
    }

    /// Whether a failed result is an error (the probe could not run) rather than a failure.
    static func isError(_ result: ProbeResult) -> Bool { result.tries.contains { $0.outcome == .error } }

    private static func secondsText(_ value: Double) -> String { ProbeFormat.fixed(value, places: 3) }

    /// Text safe in both element content and attribute values: markup characters as
    /// entities, line breaks as character references (an attribute would otherwise fold them
    /// into spaces), and characters XML 1.0 forbids even as references replaced by U+FFFD.
    static func escape(_ text: String) -> String {
        TextEscaping.escape(text, ["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&apos;",
                                   "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"]) { scalar in
            let value = scalar.value
            return value >= 0x20 && value != 0xFFFE && value != 0xFFFF ? nil : "\u{FFFD}"
        }
    }
}
