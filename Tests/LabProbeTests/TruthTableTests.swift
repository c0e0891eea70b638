import LabPlan
@testable import LabProbe
import Testing

struct TruthTableTests {
    @Test func golden() {
        let table = TruthTable(title: "mesh", results: ReportFixtures.matrix)
        #expect(table.render() == """
            mesh (. reachable, X blocked, ? not run, - not probed)
               expected    observed
               a  b  c     a  b  c
            a  -  .  X     -  .  X
            b  .  -  .     .  -  X
            c  .  .  -     X  X  -
            3 cells differ:
              b → c: expected ., observed X (timeout after 1.00s)
              c → a: expected ., observed X (timeout after 1.00s)
              c → b: expected ., observed X (timeout after 1.00s)

            """)
    }

    @Test func cells() {
        let table = TruthTable(title: "mesh", results: ReportFixtures.matrix)
        #expect(table.rows == ["a", "b", "c"])
        #expect(table.columns == ["a", "b", "c"])
        #expect(table.differences.map { "\($0.from)>\($0.to)" } == ["b>c", "c>a", "c>b"])
    }

    @Test func oneTablePerGroupAndNoneWithout() {
        #expect(TruthTable.tables(for: ReportFixtures.results).isEmpty)
        let other = ReportFixtures.matrix.map { result in
            var copy = result
            copy.group = "other"
            return copy
        }
        #expect(TruthTable.tables(for: ReportFixtures.matrix + other).map(\.title) == ["mesh", "other"])
    }

    @Test func aProbeThatCouldNotRunIsUnknown() {
        let result = ProbeResult(name: "x", from: "a", to: "b", group: "g", endpoint: nil, action: .ping(count: 1),
                                 expectation: ProbeExpectation(),
                                 tries: [ProbeObservation(outcome: .error, errno: "EPERM", detail: "open icmp socket", elapsedMilliseconds: 0)],
                                 elapsedMilliseconds: 0)
        let table = TruthTable(title: "g", results: [result])
        #expect(table.observed == [[.unknown]])
        #expect(table.render().contains("  a → b: expected ., observed ? (error: open icmp socket (EPERM))"))
    }
}

/// The upstream NetworkPolicy e2e suite prints three grids: expected, observed and their
/// comparison (`.` where they agree, `X` where they differ). Tables whose expectations come
/// from the policies get the third one; others keep two.
struct TruthTableComparisonTests {
    static func entry(_ from: String, _ to: String, expected: Bool, observed: Bool?, byPolicy: Bool = true) -> TruthTable.Entry {
        TruthTable.Entry(from: from, to: to, expectedReach: expected, observedReachable: observed,
                         detail: observed == nil ? "error" : observed! ? "connected" : "refused", byPolicy: byPolicy)
    }

    static let entries = [
        entry("x/a", "x/b", expected: true, observed: true),
        entry("x/a", "y/c", expected: false, observed: true),
        entry("x/b", "x/a", expected: false, observed: false),
        entry("x/b", "y/c", expected: true, observed: nil),
        entry("y/c", "x/a", expected: true, observed: true),
        entry("y/c", "x/b", expected: false, observed: false),
    ]

    @Test func golden() {
        let table = TruthTable(title: "policy 80/TCP", entries: Self.entries)
        #expect(table.showsComparison)
        #expect(table.render() == """
            policy 80/TCP (. reachable, X blocked, ? not run, - not probed)
                 expected         observed
                 x/a  x/b  y/c    x/a  x/b  y/c
            x/a  -    .    X      -    .    .
            x/b  X    -    .      X    -    ?
            y/c  .    X    -      .    X    -

                 comparison
                 x/a  x/b  y/c
            x/a  -    .    X
            x/b  .    -    X
            y/c  .    .    -
            2 cells differ:
              x/a → y/c: expected X, observed . (connected)
              x/b → y/c: expected ., observed ? (error)

            """)
    }

    /// The comparison marks exactly the cells listed as differing, and `-` where nothing ran.
    @Test func comparisonCellsAreTheDifferences() {
        let table = TruthTable(title: "t", entries: Self.entries)
        let lines = table.render().split(separator: "\n").map(String.init)
        let start = lines.firstIndex { $0.split(separator: " ") == ["comparison"] }!
        let grid = lines[(start + 2)...(start + 4)].map { $0.split(separator: " ").dropFirst().map(String.init) }
        var marked: [String] = []
        for (row, cells) in zip(table.rows, grid) {
            for (column, cell) in zip(table.columns, cells) where cell == "X" { marked.append("\(row)>\(column)") }
        }
        #expect(marked == table.differences.map { "\($0.from)>\($0.to)" })
        #expect(grid.enumerated().allSatisfy { $0.element[$0.offset] == "-" })
    }

    @Test func tablesNotSettledByPoliciesHaveTwoGrids() {
        let table = TruthTable(title: "t", entries: Self.entries.map { entry in
            var copy = entry
            copy.byPolicy = false
            return copy
        })
        #expect(!table.showsComparison)
        #expect(!table.render().contains("comparison"))
    }
}
