import LabPlan
@testable import LabProbe
import Testing

/// The report written while probes run must be the report of the whole run, whatever order
/// the probes finish in; an interrupted run reports what finished and counts the rest.
struct ReportStreamTests {
    static let results = ReportFixtures.results + ReportFixtures.matrix

    static let tasks = results.map { result in
        ProbeTask(name: result.name, from: result.from, to: result.to, group: result.group, endpoint: result.endpoint,
                  action: result.action, expectation: result.expectation)
    }

    final class Writes {
        var all: [String] = []
    }

    /// Feeds `order` (indices into `results`) and collects every write.
    private func stream(_ order: [Int], options: ProbeReportStream.Options = .init()) -> (ProbeReportStream, Writes) {
        let writes = Writes()
        let stream = ProbeReportStream(tasks: Self.tasks, options: options) { writes.all.append($0) }
        for index in order { stream.record(index, Self.results[index]) }
        return (stream, writes)
    }

    @Test(arguments: [false, true])
    func inAnyFinishingOrderTheTextIsTheWholeReport(reversed: Bool) {
        let indices = Array(Self.results.indices)
        var written: [String] = []
        let stream = ProbeReportStream(tasks: Self.tasks, options: .init()) { written.append($0) }
        for index in reversed ? indices.reversed() : indices { stream.record(index, Self.results[index]) }
        // In order, every result is written at once; reversed, nothing until the first.
        #expect(written.count == (reversed ? 1 : indices.count))
        stream.finish()
        #expect(written.joined() == ProbeTextReport.render(Self.results))
    }

    @Test func aLineWaitsOnlyForTheProbesBeforeIt() {
        let writes = stream([1, 2, 0]).1.all
        #expect(writes.count == 1)
        #expect(writes[0].hasPrefix("PASS  ping web-1"))
        #expect(writes[0].split(separator: "\n").count == 4, "three probes, one explanation")
    }

    @Test func anInterruptedRunReportsWhatFinishedAndCountsTheRest() {
        let (stream, writes) = stream([0, 2, 3])
        stream.finish()
        let text = writes.all.joined()
        #expect(writes.all.count == 2, "probe 0 at once; 2 and 3 only at the end, behind 1 that never finished")
        #expect(text.contains("db is closed"))
        #expect(!text.contains("web through the service"))
        #expect(text.hasSuffix("3 passed, 0 failed, 7 not run (interrupted)\n"), "\(text)")
    }

    @Test func quietPrintsOnlyFailures() {
        let (stream, writes) = stream(Array(Self.results.indices), options: .init(quiet: true))
        stream.finish()
        let lines = writes.all.joined().split(separator: "\n")
        #expect(lines.last == "6 passed, 4 failed")
        #expect(!lines.contains { $0.hasPrefix("PASS") })
        #expect(lines.filter { $0.hasPrefix("FAIL") }.count == 4)
    }

    @Test func jsonIsTheWholeDocument() throws {
        let (stream, writes) = stream(Array(Self.results.indices).reversed(), options: .init(json: true))
        stream.finish()
        #expect(writes.all.isEmpty)
        #expect(stream.json() == ProbeJSONReport.render(Self.results))
        let partial = self.stream([0, 1], options: .init(json: true)).0
        let document = try ProbeJSONReport.decode(partial.json())
        #expect(document.notRun == 8)
        #expect(document.probes == Array(Self.results.prefix(2)))
    }

    @Test func junitIsTheWholeDocumentAndSkipsWhatDidNotRun() {
        let options = ProbeReportStream.Options(junitSuite: "lab verify demo")
        let (complete, _) = stream(Array(Self.results.indices).shuffled(), options: options)
        #expect(complete.junit(seconds: 1.5) == ProbeJUnitReport.render(Self.results, suite: "lab verify demo", seconds: 1.5))
        let (partial, _) = stream([0], options: options)
        let xml = partial.junit(seconds: 1)
        #expect(xml.contains("tests=\"10\" failures=\"0\" errors=\"0\" skipped=\"9\""))
        #expect(xml.components(separatedBy: "<skipped message=\"not run: lab verify was interrupted\"/>").count == 10)
    }
}
