import LabPlan
@testable import LabProbe
import Testing

struct JSONReportTests {
    @Test func decodesBackToTheSameResults() throws {
        let results = ReportFixtures.results + ReportFixtures.matrix
        let document = try ProbeJSONReport.decode(ProbeJSONReport.render(results))
        #expect(document.passed == 6)
        #expect(document.failed == 4)
        #expect(document.probes == results)
    }

    @Test func golden() {
        let expected = """
        {
          "failed" : 0,
          "passed" : 1,
          "probes" : [
            {
              "action" : {
                "kind" : "tcp"
              },
              "attempts" : 1,
              "elapsedMilliseconds" : 0.2,
              "endpoint" : {
                "address" : "10.0.0.7",
                "port" : 5432
              },
              "expectation" : {
                "reach" : false
              },
              "from" : "client",
              "name" : "db is closed",
              "observed" : "refused (ECONNREFUSED)",
              "passed" : true,
              "to" : "db",
              "tries" : [
                {
                  "elapsedMilliseconds" : 0.2,
                  "errno" : "ECONNREFUSED",
                  "outcome" : "refused"
                }
              ]
            }
          ]
        }

        """
        #expect(ProbeJSONReport.render([ReportFixtures.results[2]]) == expected)
    }

    @Test func boundsAreWrittenAsInALabFile() throws {
        let text = ProbeJSONReport.render([ReportFixtures.results[0]])
        #expect(text.contains("\"rtt\" : \"<5ms\""))
        #expect(text.contains("\"rttMilliseconds\" : [\n            0.041,\n            0.052,\n            0.068\n          ]"))
    }

    @Test func everyActionRoundTrips() throws {
        let actions: [ProbeAction] = [.ping(count: 3), .http(path: "/x", method: "HEAD"), .tcp, .udp(payload: "hi"), .exec(["true"])]
        for action in actions {
            let result = ProbeResult(name: "p", from: "a", to: "b", endpoint: nil, action: action, expectation: ProbeExpectation(),
                                     tries: [Seen.blocked(.timeout)], elapsedMilliseconds: 1)
            #expect(try ProbeJSONReport.decode(ProbeJSONReport.render([result])).probes == [result])
        }
    }
}
