import LabSpec
import LabPlan
import LabAgent
@testable import LabProbe
import Testing

/// Every `expect` key, passing and failing, on recorded observations (no sockets).
struct ExpectationTests {
    let http = ProbeAction.http(path: "/hostname", method: "GET")

    func rtt(_ text: String) -> MeasurementBound { MeasurementBound.rtt(text)! }
    func loss(_ text: String) -> MeasurementBound { MeasurementBound.loss(text)! }

    func explain(_ expectation: ProbeExpectation, _ action: ProbeAction, _ tries: [ProbeObservation]) -> String? {
        ProbeVerdict.evaluate(expectation, action: action, tries: tries).explanation
    }

    // MARK: reach

    @Test func reachPassesOnAnAnswer() {
        #expect(explain(ProbeExpectation(), http, [Seen.http(200, "web-1")]) == nil)
        #expect(explain(ProbeExpectation(), .tcp, [Seen.tcp(nil)]) == nil)
        #expect(explain(ProbeExpectation(), .ping(count: 3), [Seen.ping(sent: 3, rtts: [0.1])]) == nil)
    }

    @Test(arguments: [
        (ProbeOutcome.timeout, nil as String?, "expected an answer, got timeout after 2.00s"),
        (.refused, "ECONNREFUSED", "expected an answer, got refused (ECONNREFUSED)"),
        (.unreachable, "EHOSTUNREACH", "expected an answer, got unreachable (EHOSTUNREACH)"),
        (.reset, "ECONNRESET", "expected an answer, got reset (ECONNRESET)"),
    ])
    func reachFailsOnEveryWayOfBeingBlocked(_ outcome: ProbeOutcome, _ errno: String?, _ explanation: String) {
        #expect(explain(ProbeExpectation(), http, [Seen.blocked(outcome, errno)]) == explanation)
    }

    @Test func reachFailsWhenOneTryOfManyIsBlocked() {
        let tries = [Seen.http(200, "a"), Seen.blocked(.refused, "ECONNREFUSED"), Seen.http(200, "a")]
        #expect(explain(ProbeExpectation(), http, tries) == "expected an answer, got refused (ECONNREFUSED) (try 2 of 3)")
    }

    @Test func aBadAnswerIsNotAnAnswer() {
        let bad = ProbeObservation(outcome: .badAnswer, detail: "not an HTTP response: \"SSH-2.0\"", elapsedMilliseconds: 1)
        #expect(explain(ProbeExpectation(), http, [bad]) == "expected an answer, got bad answer: not an HTTP response: \"SSH-2.0\"")
        // …but something did answer, so it is not blocked either.
        #expect(explain(ProbeExpectation(reach: false), http, [bad]) == "expected no answer (reach: false), got bad answer: not an HTTP response: \"SSH-2.0\"")
    }

    @Test(arguments: [
        (ProbeOutcome.timeout, nil as String?), (.refused, "ECONNREFUSED"), (.unreachable, "ENETUNREACH"),
        (.unreachable, "EPERM"), (.reset, "ECONNRESET"),
    ])
    func reachFalsePassesOnEveryWayOfBeingBlocked(_ outcome: ProbeOutcome, _ errno: String?) {
        #expect(explain(ProbeExpectation(reach: false), .tcp, [Seen.blocked(outcome, errno)]) == nil)
    }

    @Test func reachFalseFailsOnAnAnswer() {
        #expect(explain(ProbeExpectation(reach: false), http, [Seen.http(200, "web-1")])
            == "expected no answer (reach: false), got HTTP 200 \"web-1\"")
        #expect(explain(ProbeExpectation(reach: false), .ping(count: 3), [Seen.blocked(.timeout), Seen.ping(sent: 3, rtts: [0.5, 0.25])])
            == "expected no answer (reach: false), got 2/3 replies, rtt 0.250/0.375/0.500ms (try 2 of 2)")
    }

    @Test func aProbeThatCouldNotRunFailsWhateverWasExpected() {
        let error = ProbeObservation(outcome: .error, errno: "EMFILE", detail: "open tcp socket", elapsedMilliseconds: 0)
        #expect(explain(ProbeExpectation(), .tcp, [error]) == "could not probe: open tcp socket (EMFILE)")
        #expect(explain(ProbeExpectation(reach: false), .tcp, [error]) == "could not probe: open tcp socket (EMFILE)")
    }

    @Test func execNeedsExitStatusZero() {
        #expect(explain(ProbeExpectation(), .exec(["true"]), [Seen.exec(0)]) == nil)
        #expect(explain(ProbeExpectation(), .exec(["false"]), [Seen.exec(1)]) == "expected exit status 0, got exit 1")
        #expect(explain(ProbeExpectation(reach: false), .exec(["false"]), [Seen.exec(1)]) == nil)
        #expect(explain(ProbeExpectation(reach: false), .exec(["true"]), [Seen.exec(0, "ok\n")])
            == "expected no answer (reach: false), got exit 0, output \"ok\"")
    }

    // MARK: status, body

    @Test func status() {
        #expect(explain(ProbeExpectation(status: 200), http, [Seen.http(200, "x"), Seen.http(200, "y")]) == nil)
        #expect(explain(ProbeExpectation(status: 200), http, [Seen.http(200, "x"), Seen.http(404, "y")])
            == "expected HTTP 200, got 404 (try 2 of 2)")
    }

    @Test func bodyIsASubstring() {
        #expect(explain(ProbeExpectation(body: "web"), http, [Seen.http(200, "web-1")]) == nil)
        #expect(explain(ProbeExpectation(body: "db"), http, [Seen.http(200, "web-1\n")])
            == "expected a body containing \"db\", got \"web-1\\n\"")
    }

    // MARK: servedBy

    @Test func servedByPassesWhenExactlyTheListedPodsAnswered() {
        let tries = ["web-1", "web-2", "web-1", "web-2\n"].map { Seen.http(200, $0) }
        #expect(explain(ProbeExpectation(servedBy: ["web-1", "web-2"]), http, tries) == nil)
        #expect(explain(ProbeExpectation(servedBy: ["web-2", "web-1"]), http, tries) == nil)
    }

    @Test func servedByFailsWhenAListedPodNeverAnswered() {
        let tries = Array(repeating: Seen.http(200, "web-1"), count: 3)
        #expect(explain(ProbeExpectation(servedBy: ["web-1", "web-2"]), http, tries)
            == "expected servedBy web-1, web-2 over 3 tries, got web-1 ×3: web-2 never answered")
    }

    @Test func servedByFailsWhenAnotherPodAnswered() {
        let tries = ["web-1", "web-3", "web-1"].map { Seen.http(200, $0) }
        #expect(explain(ProbeExpectation(servedBy: ["web-1"]), http, tries)
            == "expected servedBy web-1 over 3 tries, got web-1 ×2, web-3 ×1: web-3 answered but is not listed")
    }

    @Test func servedByReadsTheTCPGreetingAndTheFirstWordOfTheUDPAnswer() {
        #expect(explain(ProbeExpectation(servedBy: ["a", "b"]), .tcp, [Seen.tcp("a"), Seen.tcp("b")]) == nil)
        #expect(explain(ProbeExpectation(servedBy: ["a", "b"]), .tcp, [Seen.tcp("a"), Seen.tcp(nil)])
            == "expected servedBy a, b over 2 tries, got (no name) ×1, a ×1: b never answered, (no name) answered but is not listed")
        let udp = ProbeAction.udp(payload: "hi")
        #expect(explain(ProbeExpectation(servedBy: ["a"]), udp, [Seen.udp("a 10.0.0.9:5000")]) == nil)
        #expect(explain(ProbeExpectation(servedBy: ["b"]), udp, [Seen.udp("a 10.0.0.9:5000")])
            == "expected servedBy b over 1 tries, got a ×1: b never answered, a answered but is not listed")
    }

    // MARK: clientIP

    @Test func clientIPReadsTheClientipAnswer() {
        let clientip = ProbeAction.http(path: "/clientip", method: "GET")
        #expect(explain(ProbeExpectation(clientIP: "10.0.0.5"), clientip, [Seen.http(200, "10.0.0.5:41234")]) == nil)
        #expect(explain(ProbeExpectation(clientIP: "10.0.0.5"), clientip, [Seen.http(200, "10.0.0.5:1"), Seen.http(200, "10.0.1.1:2")])
            == "expected client IP 10.0.0.5, the server saw 10.0.1.1 (try 2 of 2)")
    }

    @Test func clientIPSaysWhenTheAnswerIsNotAnAddress() {
        #expect(explain(ProbeExpectation(clientIP: "10.0.0.5"), http, [Seen.http(200, "web-1")])
            == "expected client IP 10.0.0.5, the server saw \"web-1\" (not an address: clientIP reads the agent's /clientip answer)")
    }

    @Test func clientIPReadsTheSecondWordOfTheUDPAnswer() {
        let udp = ProbeAction.udp(payload: "hi")
        #expect(explain(ProbeExpectation(clientIP: "10.0.0.5"), udp, [Seen.udp("web-1 10.0.0.5:5353")]) == nil)
        #expect(explain(ProbeExpectation(clientIP: "10.0.0.5"), udp, [Seen.udp("web-1 10.244.0.1:5353")])
            == "expected client IP 10.0.0.5, the server saw 10.244.0.1")
    }

    @Test func clientAddressesParse() {
        #expect(AgentResponses.host(ofPeer: "10.0.0.5:41234") == "10.0.0.5")
        #expect(AgentResponses.host(ofPeer: "[fd00::5]:41234") == "fd00::5")
        #expect(AgentResponses.host(ofPeer: "fd00::5") == "fd00::5")
        #expect(AgentResponses.host(ofPeer: "web-1") == "web-1")
    }

    // MARK: rtt, loss

    @Test func rttBoundsTheMean() {
        let ping = ProbeAction.ping(count: 3)
        let tries = [Seen.ping(sent: 3, rtts: [1, 2, 6])]
        #expect(explain(ProbeExpectation(rtt: rtt("<5ms")), ping, tries) == nil)
        #expect(explain(ProbeExpectation(rtt: rtt("<2ms")), ping, tries)
            == "expected rtt <2ms, measured mean 3.000ms (min 1.000ms, max 6.000ms)")
        #expect(explain(ProbeExpectation(rtt: rtt(">=100us")), ping, tries) == nil)
    }

    @Test func lossCountsEchoesOverAllTries() {
        let ping = ProbeAction.ping(count: 3)
        let full = [Seen.ping(sent: 3, rtts: [0.1, 0.1, 0.1])]
        let lossy = [Seen.ping(sent: 3, rtts: [0.1, 0.1])]
        #expect(explain(ProbeExpectation(loss: loss("0%")), ping, full) == nil)
        #expect(explain(ProbeExpectation(loss: loss("0%")), ping, lossy)
            == "expected loss <=0%, measured 33.3% (2 of 3 echoes answered)")
        #expect(explain(ProbeExpectation(loss: loss("<50%")), ping, lossy) == nil)
        #expect(explain(ProbeExpectation(loss: loss("<50%")), ping, lossy + lossy + [Seen.ping(sent: 3, rtts: [0.1])])
            == nil)
        #expect(explain(ProbeExpectation(loss: loss("<40%")), ping, lossy + lossy + [Seen.ping(sent: 3, rtts: [0.1])])
            == "expected loss <40%, measured 44.4% (5 of 9 echoes answered)")
    }

    @Test func everyUnmetExpectationIsExplained() {
        let expectation = ProbeExpectation(status: 200, body: "web")
        #expect(explain(expectation, http, [Seen.http(500, "oops")])
            == "expected HTTP 200, got 500; expected a body containing \"web\", got \"oops\"")
    }

    @Test func anExpectationFromALabFile() {
        let spec = ExpectSpec(status: 200, rtt: .rtt("<5ms"), loss: .loss("0%"))
        let expectation = ProbeExpectation(spec, clientIP: "10.0.0.5")
        #expect(expectation.rtt == MeasurementBound(comparison: .lessThan, value: 5))
        #expect(expectation.loss == MeasurementBound(comparison: .lessOrEqual, value: 0))
        #expect(expectation.clientIP == "10.0.0.5")
        #expect(expectation.status == 200)
    }
}
