import LabPlan
/// The reachability of a matrix as two grids, expected and observed: rows are sources,
/// columns destinations, `.` reachable, `X` blocked — plus the cells that differ, which are
/// what a reader is looking for. Pure.
public struct TruthTable: Sendable, Hashable {
    public enum Cell: String, Sendable, Hashable {
        case reachable = "."
        case blocked = "X"
        /// The probe could not run (no socket, no namespace): neither reachable nor blocked.
        case unknown = "?"
        /// No probe for this pair (e.g. a pod and itself).
        case none = "-"
    }

    public struct Difference: Sendable, Hashable {
        public var from: String
        public var to: String
        public var expected: Cell
        public var observed: Cell
        /// What the probe saw: `timeout`, `HTTP 200 "web-1"`.
        public var detail: String
    }

    public var title: String
    public var rows: [String]
    public var columns: [String]
    public var expected: [[Cell]]
    public var observed: [[Cell]]
    public var differences: [Difference]
    /// A third grid, as the upstream NetworkPolicy e2e suite prints it: `.` where observed
    /// equals expected, `X` where it does not. Shown for tables whose expectations come from
    /// the NetworkPolicies (`reach: policy`, the model check's policy grids).
    public var showsComparison = false

    /// One probe's cell: what was expected and what was seen.
    public struct Entry: Sendable, Hashable {
        public var from: String
        public var to: String
        public var expectedReach: Bool
        /// Nil when the probe could not run.
        public var observedReachable: Bool?
        /// What the probe saw, for the list of differences.
        public var detail: String
        /// The expectation is what the NetworkPolicies allow.
        public var byPolicy: Bool

        public init(from: String, to: String, expectedReach: Bool, observedReachable: Bool?, detail: String, byPolicy: Bool = false) {
            self.from = from
            self.to = to
            self.expectedReach = expectedReach
            self.observedReachable = observedReachable
            self.detail = detail
            self.byPolicy = byPolicy
        }

        public init(_ result: ProbeResult) {
            self.init(from: result.from, to: result.to, expectedReach: result.expectation.reach,
                      observedReachable: result.observedReachable, detail: result.observed,
                      byPolicy: result.expectation.reachByPolicy)
        }
    }

    /// The table of `results`, rows in the order the sources first appear (the order the
    /// matrix was written in).
    public init(title: String, results: [ProbeResult]) {
        self.init(title: title, entries: results.map(Entry.init))
    }

    /// The table of `entries`, in the order of their probes.
    public init(title: String, entries results: [Entry]) {
        self.title = title
        let rows = Self.unique(results.map(\.from))
        // A square matrix (the same pods on both sides) gets its columns in the rows' order,
        // so the diagonal is the diagonal; other destinations follow as they first appear.
        let rowOrder = Dictionary(uniqueKeysWithValues: rows.enumerated().map { ($1, $0) })
        let columns = Self.unique(results.map(\.to)).enumerated()
            .sorted { (rowOrder[$0.element] ?? rows.count + $0.offset) < (rowOrder[$1.element] ?? rows.count + $1.offset) }
            .map(\.element)
        self.rows = rows
        self.columns = columns
        let rowIndex = Dictionary(uniqueKeysWithValues: rows.enumerated().map { ($1, $0) })
        let columnIndex = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
        let empty = Array(repeating: Array(repeating: Cell.none, count: columns.count), count: rows.count)
        expected = empty
        observed = empty
        differences = []
        showsComparison = results.contains { $0.byPolicy }
        for result in results {
            let (row, column) = (rowIndex[result.from]!, columnIndex[result.to]!)
            let wanted: Cell = result.expectedReach ? .reachable : .blocked
            let seen: Cell = result.observedReachable.map { $0 ? .reachable : .blocked } ?? .unknown
            expected[row][column] = wanted
            observed[row][column] = seen
            if wanted != seen {
                differences.append(Difference(from: result.from, to: result.to, expected: wanted, observed: seen, detail: result.detail))
            }
        }
    }

    /// One table per group (`ProbeTask.group`), in the order the groups first appear.
    public static func tables(for results: [ProbeResult]) -> [TruthTable] {
        let groups = unique(results.compactMap(\.group))
        return groups.map { group in TruthTable(title: group, results: results.filter { $0.group == group }) }
    }

    /// ```
    /// everyone pings everyone (. reachable, X blocked, ? not run, - not probed)
    ///          expected        observed
    ///          a   b   c       a   b   c
    /// a        -   .   .       -   .   X
    /// 1 cell differs:
    ///   a → c: expected ., observed X (timeout)
    /// ```
    public func render() -> String {
        let pad = ProbeFormat.pad
        let labelWidth = rows.map(\.count).max() ?? 0
        let widths = columns.map(\.count)
        func grid(_ cells: [String]) -> String {
            zip(cells, widths).map { pad($0, $1) }.joined(separator: "  ")
        }
        let gridWidth = max(grid(columns).count, "expected".count)
        func line(_ label: String, _ left: String, _ right: String) -> String {
            let text = pad(label, labelWidth) + "  " + pad(left, gridWidth) + "    " + right
            return String(text.reversed().drop { $0 == " " }.reversed())
        }
        var out = "\(title) (. reachable, X blocked, ? not run, - not probed)\n"
        out += line("", "expected", "observed") + "\n"
        out += line("", grid(columns), grid(columns)) + "\n"
        for (index, row) in rows.enumerated() {
            out += line(row, grid(expected[index].map(\.rawValue)), grid(observed[index].map(\.rawValue))) + "\n"
        }
        if showsComparison {
            out += "\n" + line("", "comparison", "") + "\n" + line("", grid(columns), "") + "\n"
            for (index, row) in rows.enumerated() {
                let cells = zip(expected[index], observed[index]).map { $0 == .none ? Cell.none.rawValue : $0 == $1 ? "." : "X" }
                out += line(row, grid(cells), "") + "\n"
            }
        }
        switch differences.count {
        case 0: out += "no cell differs\n"
        case 1: out += "1 cell differs:\n"
        default: out += "\(differences.count) cells differ:\n"
        }
        for difference in differences {
            out += "  \(difference.from) → \(difference.to): expected \(difference.expected.rawValue), observed \(difference.observed.rawValue) (\(difference.detail))\n"
        }
        return out
    }

    private static func unique(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
}
