import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import LabPlan
@testable import LabProbe
import Testing

/// A scenario's report: a group of its own in each output, and the steps around its probes (a
/// fault not applied or not cleared) counted as failures.
struct ScenarioReportTests {
    static let results = ReportFixtures.results
    static let tasks = results.map { result in
        ProbeTask(name: result.name, from: result.from, to: result.to, group: result.group, endpoint: result.endpoint,
                  action: result.action, expectation: result.expectation)
    }

    static func stream(json: Bool = false, junit: String? = nil, record: Bool = true) -> (ProbeReportStream, () -> String) {
        var written = ""
        let stream = ProbeReportStream(tasks: tasks, options: .init(json: json, junitSuite: junit)) { written += $0 }
        if record { for (index, result) in results.enumerated() { stream.record(index, result) } }
        return (stream, { written })
    }

    @Test func aFaultThatCouldNotBeAppliedIsAFailedStep() {
        let (stream, written) = Self.stream(record: false)
        stream.recordStepFailure("apply faults", "unknown node \"node-9\"")
        stream.finish()
        #expect(written().hasPrefix("FAIL  apply faults: unknown node \"node-9\"\n"))
        #expect(written().hasSuffix("0 passed, 1 failed, \(Self.tasks.count) not run (interrupted)\n"))
        #expect(stream.failed == 1)
    }

    @Test func jsonHasEachScenarioWithItsOwnReport() throws {
        let (main, _) = Self.stream(json: true)
        let (scenario, _) = Self.stream(json: true)
        let (failing, _) = Self.stream(json: true, record: false)
        failing.recordStepFailure("apply faults", "refused")
        let document = ProbeJSONReport.withScenarios(main.json(), [
            (name: "node-2 dies", faults: ["down node/node-2"], applyError: nil, clearError: nil, report: scenario.json()),
            (name: "slow wan", faults: ["impair network/wan delay 100ms"], applyError: "refused", clearError: nil, report: failing.json()),
        ])
        let decoded = try ProbeJSONReport.decode(document)
        #expect(decoded.probes.count == Self.results.count)
        #expect(decoded.scenarios?.map(\.name) == ["node-2 dies", "slow wan"])
        #expect(decoded.scenarios?[0].faults == ["down node/node-2"])
        #expect(decoded.scenarios?[0].report.probes.count == Self.results.count)
        #expect(decoded.scenarios?[1].applyError == "refused")
        #expect(decoded.scenarios?[1].report.failed == 1)
        // Keys stay sorted, as everywhere in the document.
        #expect(document.range(of: "\"probes\" : [")!.lowerBound < document.range(of: "\"scenarios\" : [")!.lowerBound)
        #expect(document.hasSuffix("  ]\n}\n"))
    }

    @Test func junitHasATestsuitePerScenario() throws {
        let (main, _) = Self.stream(junit: "lab verify demo")
        let (scenario, _) = Self.stream(junit: "lab verify demo: slow wan", record: false)
        scenario.recordStepFailure("clear faults", "the link is gone")
        let xml = ProbeJUnitReport.suites([main.junit(seconds: 1), scenario.junit(seconds: 2)])
        #expect(xml.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"lab verify demo\""))
        #expect(xml.components(separatedBy: "<?xml").count == 2, "one declaration")
        #expect(xml.contains("<testsuite name=\"lab verify demo: slow wan\" tests=\"\(Self.tasks.count + 1)\" failures=\"0\" errors=\"1\" skipped=\"\(Self.tasks.count)\""))
        #expect(xml.contains("<testcase classname=\"lab verify demo: slow wan\" name=\"clear faults\" time=\"0.000\">\n    <error message=\"the link is gone\" type=\"fault\">"))
        #expect(xml.hasSuffix("</testsuite>\n</testsuites>\n"))
        #expect(XMLParser(data: Data(xml.utf8)).parse(), "well-formed")
    }
}
