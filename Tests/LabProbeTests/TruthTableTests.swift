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
