@testable import LabProbe
import Testing

struct TextReportTests {
    @Test func golden() {
        let expected = """
        PASS  ping web-1               client → web-1        ping 10.0.0.5 ×3                             3/3 replies, rtt 0.041/0.054/0.068ms  0.41ms
        FAIL  web through the service  client → service/web  http GET 10.96.0.10:80/hostname              HTTP 503 "no endpoints"  125ms (2 attempts)
              expected HTTP 200, got 503
        PASS  db is closed             client → db           tcp 10.0.0.7:5432                            refused (ECONNREFUSED)  0.20ms
        PASS  healthz                  web-1                 exec curl -sf http://127.0.0.1:8080/healthz  exit 0, output "ok"  8.5ms

        3 passed, 1 failed

        """
        #expect(ProbeTextReport.render(ReportFixtures.results) == expected)
    }

    @Test func theLastLineIsTheCountAlone() {
        let lines = ProbeTextReport.render(ReportFixtures.results + ReportFixtures.matrix).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.last == "")
        #expect(lines.dropLast().last == "6 passed, 4 failed")
        #expect(ProbeTextReport.render([]) == "0 passed, 0 failed\n")
    }

    @Test func streamedLine() {
        #expect(ProbeTextReport.line(ReportFixtures.results[1]) == """
            FAIL  web through the service  client → service/web  http GET 10.96.0.10:80/hostname  HTTP 503 "no endpoints"  125ms (2 attempts)
                  expected HTTP 200, got 503
            """)
    }

    @Test func summariesOfManyTries() {
        let http = ProbeAction.http(path: "/hostname", method: "GET")
        let tries = ["web-1", "web-2", "web-1"].map { Seen.http(200, $0) } + [Seen.blocked(.timeout)]
        #expect(ProbeResult.summary(of: tries, action: http) == "HTTP 200 \"web-1\" ×2, HTTP 200 \"web-2\", timeout")
        let many = (1...6).map { Seen.http(200, "w\($0)") }
        #expect(ProbeResult.summary(of: many, action: http)
            == "HTTP 200 \"w1\", HTTP 200 \"w2\", HTTP 200 \"w3\", HTTP 200 \"w4\", and 2 other answers")
        let pings = [Seen.ping(sent: 1, rtts: [1]), Seen.ping(sent: 2, rtts: [2, 3])]
        #expect(ProbeResult.summary(of: pings, action: .ping(count: 2)) == "3/3 replies, rtt 1.000/2.000/3.000ms")
    }

    @Test func durations() {
        #expect(ProbeFormat.duration(milliseconds: 0.049) == "0.05ms")
        #expect(ProbeFormat.duration(milliseconds: 4.25) == "4.2ms" || ProbeFormat.duration(milliseconds: 4.25) == "4.3ms")
        #expect(ProbeFormat.duration(milliseconds: 42.4) == "42ms")
        #expect(ProbeFormat.duration(milliseconds: 2004) == "2.00s")
    }

    @Test func observedTextIsQuotedAndCut() {
        #expect(ProbeFormat.quoted("a\"b\\c\n\u{1}") == "\"a\\\"b\\\\c\\n\\x01\"")
        #expect(ProbeFormat.quoted(String(repeating: "x", count: 50), limit: 4) == "\"xxxx…\"")
    }
}
