/// `lab verify`'s report, written while the probes run: each probe's line as soon as it and
/// every probe before it (in the file's order) have finished, so the order is the file's and
/// CI logs stay stable; then the truth tables and the summary.
///
/// Keeps only what the outputs need of a finished probe: its line until it is printed, a cell
/// of its truth table, and its JSON object or JUnit element only when those were asked for —
/// never the results themselves, so memory follows the window of out-of-order probes, not the
/// number of probes.
public final class ProbeReportStream {
    public struct Options: Sendable {
        /// Only failures' lines (unaligned) and the summary.
        public var quiet: Bool
        /// Keep what `json()` needs; no text is written then.
        public var json: Bool
        /// Keep what `junit(seconds:)` needs, with this suite name.
        public var junitSuite: String?

        public init(quiet: Bool = false, json: Bool = false, junitSuite: String? = nil) {
            self.quiet = quiet
            self.json = json
            self.junitSuite = junitSuite
        }
    }

    private let tasks: [ProbeTask]
    private let options: Options
    private let write: (String) -> Void
    private let widths: [Int]
    /// Finished lines waiting for a probe before them, by task index.
    private var waiting: [Int: String] = [:]
    private var nextLine = 0
    private var finished: [Bool]
    /// Per truth table (a task's group), in the order groups first appear: its cells as
    /// (task index, entry), in the order they finished.
    private var groupOrder: [String] = []
    private var cells: [String: [(Int, TruthTable.Entry)]] = [:]
    private let jsonObjects: FragmentStore?
    private let testcases: FragmentStore?
    private var errors = 0
    /// Steps around the probes that failed (a scenario's fault that could not be applied or
    /// cleared): each counts as a failure and is a JUnit error testcase of its own.
    private var stepFailures: [(name: String, message: String)] = []

    public private(set) var passed = 0
    public private(set) var failed = 0
    public var done: Int { passed + failed }
    public var total: Int { tasks.count }

    /// `write` receives text to print, in order (whole lines).
    public init(tasks: [ProbeTask], options: Options, write: @escaping (String) -> Void) {
        self.tasks = tasks
        self.options = options
        self.write = write
        widths = options.quiet || options.json ? [] : ProbeTextReport.widths(for: tasks)
        finished = Array(repeating: false, count: tasks.count)
        jsonObjects = options.json ? FragmentStore(count: tasks.count) : nil
        testcases = options.junitSuite != nil ? FragmentStore(count: tasks.count) : nil
        var seen = Set<String>()
        for task in tasks {
            if let group = task.group, seen.insert(group).inserted { groupOrder.append(group) }
        }
    }

    /// Records the result of `tasks[index]` and writes every line that is now in order.
    public func record(_ index: Int, _ result: ProbeResult) {
        guard !finished[index] else { return }
        finished[index] = true
        if result.passed { passed += 1 } else { failed += 1 }
        if let group = result.group {
            var entry = TruthTable.Entry(result)
            // Only a difference lists what was seen.
            if (entry.observedReachable ?? !entry.expectedReach) == entry.expectedReach { entry.detail = "" }
            cells[group, default: []].append((index, entry))
        }
        jsonObjects?.store(index, ProbeJSONReport.fragment(result))
        if let suite = options.junitSuite {
            testcases?.store(index, Array(ProbeJUnitReport.testcase(result, suite: suite).utf8))
            if !result.passed, ProbeJUnitReport.isError(result) { errors += 1 }
        }
        guard !options.json else { return }
        waiting[index] = text(of: result)
        var out = ""
        while let line = waiting.removeValue(forKey: nextLine) {
            out += line
            nextLine += 1
        }
        if !out.isEmpty { write(out) }
    }

    /// Records a failed step around the probes (`name`: what it was, `message`: why), printed
    /// at once and counted as a failure.
    public func recordStepFailure(_ name: String, _ message: String) {
        stepFailures.append((name, message))
        failed += 1
        errors += 1
        guard !options.json else { return }
        write("FAIL  \(name): \(message)\n")
    }

    private func text(of result: ProbeResult) -> String {
        if options.quiet { return result.passed ? "" : ProbeTextReport.line(result) + "\n" }
        return ProbeTextReport.line(result, widths: widths)
    }

    /// Writes the lines still waiting (after an interrupt, the finished probes behind one
    /// that never finished), the truth tables and the summary, which counts the probes that
    /// did not run.
    public func finish() {
        guard !options.json else { return }
        var out = ""
        for index in waiting.keys.sorted() { out += waiting[index]! }
        waiting.removeAll()
        if !options.quiet {
            for group in groupOrder {
                guard let entries = cells[group] else { continue }
                out += "\n" + TruthTable(title: group, entries: entries.sorted { $0.0 < $1.0 }.map(\.1)).render()
            }
            if done > 0 { out += "\n" }
        }
        out += ProbeTextReport.summary(passed: passed, failed: failed, notRun: total - (done - stepFailures.count)) + "\n"
        write(out)
    }

    /// The JSON document (`--output json`), with `notRun` when some probes never finished.
    public func json() -> String {
        var out: [UInt8] = []
        json { out += $0 }
        return String(decoding: out, as: UTF8.self)
    }

    /// The same, written piece by piece (one probe's object at a time).
    public func json(write: ([UInt8]) -> Void) {
        guard let jsonObjects else { return }
        let notRun = total - (done - stepFailures.count)
        let present = (0..<total).filter(jsonObjects.has)
        ProbeJSONReport.assemble(passed: passed, failed: failed, notRun: notRun > 0 ? notRun : nil, count: present.count,
                                 probe: { jsonObjects.fragment(present[$0]) ?? Array("    {}".utf8) }, write: write)
    }

    /// The JUnit document; probes that never finished are skipped testcases.
    public func junit(seconds: Double) -> String {
        var out = ""
        junit(seconds: seconds) { out += $0 }
        return out
    }

    /// The same, written piece by piece (one testcase at a time).
    public func junit(seconds: Double, write: (String) -> Void) {
        guard let suite = options.junitSuite, let testcases else { return }
        let skipped = (0..<total).filter { !testcases.has($0) }.count
        let steps = stepFailures
        ProbeJUnitReport.document(suite: suite, tests: total + steps.count, failures: failed - errors, errors: errors,
                                  skipped: skipped, seconds: seconds, testcase: { index in
                                      if index >= total {
                                          return ProbeJUnitReport.stepError(steps[index - total].name, steps[index - total].message, suite: suite)
                                      }
                                      return testcases.fragment(index).map { String(decoding: $0, as: UTF8.self) }
                                          ?? ProbeJUnitReport.notRun(tasks[index], suite: suite)
                                  }, write: write)
    }
}
