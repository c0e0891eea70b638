import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import LabSpec
import LabPlan
@testable import LabProbe
import Testing

/// The JUnit report read back with a real XML parser, as a CI system would.
struct JUnitReportTests {
    struct Case: Equatable {
        var classname = ""
        var name = ""
        var failure: String?
        var error: String?
        var output = ""
    }

    final class Reader: NSObject, XMLParserDelegate {
        var suite: [String: String] = [:]
        var cases: [Case] = []
        var text = ""

        func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            text = ""
            switch element {
            case "testsuite": suite = attributes
            case "testcase": cases.append(Case(classname: attributes["classname"] ?? "", name: attributes["name"] ?? ""))
            case "failure": cases[cases.count - 1].failure = attributes["message"]
            case "error": cases[cases.count - 1].error = attributes["message"]
            default: break
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
            if element == "system-out" { cases[cases.count - 1].output = text }
        }
    }

    func read(_ xml: String) throws -> Reader {
        let reader = Reader()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = reader
        guard parser.parse() else { throw TestFailure("invalid XML: \(parser.parserError.map { "\($0)" } ?? "?")\n\(xml)") }
        return reader
    }

    @Test func parsesBackWithOneTestcasePerProbe() throws {
        let results = ReportFixtures.results + ReportFixtures.matrix
        let reader = try read(ProbeJUnitReport.render(results, suite: "lab verify demo", seconds: 1.5))
        #expect(reader.suite["name"] == "lab verify demo")
        #expect(reader.suite["tests"] == "10")
        #expect(reader.suite["failures"] == "4")
        #expect(reader.suite["errors"] == "0")
        #expect(reader.suite["time"] == "1.500")
        #expect(reader.cases.map(\.name) == results.map(\.name))
        #expect(reader.cases.map(\.failure) == results.map(\.explanation))
        #expect(reader.cases[4].classname == "mesh")
        #expect(reader.cases[0].classname == "lab verify demo")
        #expect(reader.cases[3].output == "web-1 → : exec curl -sf http://127.0.0.1:8080/healthz: exit 0, output \"ok\"\nok")
    }

    @Test func aProbeThatCouldNotRunIsAnError() throws {
        let result = ProbeResult(name: "no socket", from: "a", to: "b", endpoint: nil, action: .tcp, expectation: ProbeExpectation(),
                                 tries: [ProbeObservation(outcome: .error, errno: "EMFILE", detail: "open tcp socket", elapsedMilliseconds: 0)],
                                 elapsedMilliseconds: 0)
        let reader = try read(ProbeJUnitReport.render([result], suite: "s"))
        #expect(reader.suite["errors"] == "1")
        #expect(reader.suite["failures"] == "0")
        #expect(reader.cases[0].error == "could not probe: open tcp socket (EMFILE)")
        #expect(reader.cases[0].failure == nil)
    }

    @Test func markupAndControlCharactersAreEscaped() throws {
        let name = "a <b> & \"c\" 'd'\nline\u{1}bell"
        let result = ProbeResult(name: name, from: "x", to: "y", endpoint: ProbeEndpoint(address: loopback, port: 80),
                                 action: .http(path: "/", method: "GET"), expectation: ProbeExpectation(body: "]]>"),
                                 tries: [Seen.http(200, "<html>&\u{0}")], elapsedMilliseconds: 1)
        let xml = ProbeJUnitReport.render([result], suite: "<suite>")
        let reader = try read(xml)
        #expect(reader.suite["name"] == "<suite>")
        #expect(reader.cases[0].name == "a <b> & \"c\" 'd'\nline\u{FFFD}bell")
        #expect(reader.cases[0].failure == "expected a body containing \"]]>\", got \"<html>&\\x00\"")
    }
}
