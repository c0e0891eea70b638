import Foundation
import Glibc
import LabAddress
import LabAgent
@testable import LabDNS
import LabKernel
import LabPlan
import LabSpec
@testable import LabProbe
import Testing

/// Lookups through a pod's resolver: glibc's search walk, the messages, the verdicts of `dns`
/// probes, and probes by name run by the engine against the built-in DNS server on 127.0.0.1.
@Suite struct DNSProbeTests {
    static let resolver = ResolverConfiguration.clusterFirst(namespace: "x", nameserver: "127.0.0.1")

    // MARK: The search walk (glibc's __res_context_search)

    @Test func searchPathPerNdotsCase() {
        // Fewer dots than ndots: every suffix first, the name as written last.
        #expect(Self.resolver.candidates(for: "s-y-a.y") == [
            "s-y-a.y.x.svc.cluster.local.", "s-y-a.y.svc.cluster.local.", "s-y-a.y.cluster.local.", "s-y-a.y.",
        ])
        // As many dots as ndots: the name as written first.
        #expect(Self.resolver.candidates(for: "a.b.c.d.e.f").first == "a.b.c.d.e.f.")
        #expect(Self.resolver.candidates(for: "a.b.c.d.e.f").count == 4)
        // A trailing dot: that name only.
        #expect(Self.resolver.candidates(for: "web.x.svc.cluster.local.") == ["web.x.svc.cluster.local."])
        let one = ResolverConfiguration(nameservers: ["127.0.0.1"], search: ["x.svc.cluster.local"], ndots: 1)
        #expect(one.candidates(for: "web.x") == ["web.x.", "web.x.x.svc.cluster.local."])
    }

    @Test func theWalkMovesOnAfterNXDOMAINNODATAAndSERVFAILOnly() {
        var walk = ResolverWalk(candidates: ["a.", "b.", "c."])
        #expect(walk.first == .ask("a."))
        #expect(walk.record(.nameError, answers: 0) == .ask("b."))
        #expect(walk.record(.noError, answers: 1) == .done(.noError, answered: true))
        #expect(walk.queries == ["a. NXDOMAIN", "b. NOERROR"])

        var nodata = ResolverWalk(candidates: ["a.", "b."])
        _ = nodata.record(.noError, answers: 0)
        #expect(nodata.record(.nameError, answers: 0) == .done(.noError, answered: false))

        var failing = ResolverWalk(candidates: ["a.", "b."])
        #expect(failing.record(.serverFailure, answers: 0) == .ask("b."))
        #expect(failing.record(.nameError, answers: 0) == .done(.serverFailure, answered: false))

        var refused = ResolverWalk(candidates: ["a.", "b."])
        #expect(refused.record(.refused, answers: 0) == .done(.refused, answered: false))
        #expect(refused.queries == ["a. REFUSED"])
    }

    // MARK: Messages

    @Test func theQueryIsWhatGlibcSends() throws {
        let bytes = DNSProbeMessage.query(id: 0x1234, name: DNSName("web.x.svc.cluster.local")!, type: .a)
        // ID, flags RD, one question, no other records (no EDNS).
        #expect(Array(bytes[0..<12]) == [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])
        let message = try DNSMessage(decoding: bytes)
        #expect(message.questions == [DNSQuestion(name: DNSName("web.x.svc.cluster.local")!, type: .a)])
        #expect(message.edns == nil)
    }

    @Test func repliesToAnotherQueryAreIgnored() {
        let question = DNSQuestion(name: DNSName("web.x")!, type: .a)
        let reply = DNSMessage(header: DNSHeader(id: 7, isResponse: true), questions: [question],
                               answers: [DNSRecord(name: question.name, ttl: 30, data: .a([10, 96, 0, 1]))]).encoded()
        #expect(DNSProbeMessage.reply(reply, id: 7, question: question) != nil)
        #expect(DNSProbeMessage.reply(reply, id: 8, question: question) == nil)
        #expect(DNSProbeMessage.reply(reply, id: 7, question: DNSQuestion(name: DNSName("web.y")!, type: .a)) == nil)
        #expect(DNSProbeMessage.reply(Array(reply.prefix(20)), id: 7, question: question) == nil)
        // A query (QR clear) is not a reply, even with the right ID.
        #expect(DNSProbeMessage.reply(DNSProbeMessage.query(id: 7, name: question.name, type: .a), id: 7, question: question) == nil)
        // WEB.X answers web.x: names match without regard to case.
        let upper = DNSMessage(header: DNSHeader(id: 7, isResponse: true), questions: [DNSQuestion(name: DNSName("WEB.X")!, type: .a)]).encoded()
        #expect(DNSProbeMessage.reply(upper, id: 7, question: question) != nil)
    }

    @Test func answersAreTextAsDigShortPrintsThem() {
        let srv = SRVData(priority: 0, weight: 100, port: 80, target: DNSName("web.default.svc.cluster.local")!)
        #expect(DNSRecordData.srv(srv).text == "0 100 80 web.default.svc.cluster.local.")
        #expect(DNSRecordData.a([10, 96, 0, 10]).text == "10.96.0.10")
        #expect(DNSRecordData.aaaa([0xfd, 0] + Array(repeating: 0, count: 13) + [1]).text == "fd00::1")
        #expect(DNSProbeMessage.lookupName("10.96.0.10", type: .ptr) == "10.0.96.10.in-addr.arpa.")
        #expect(DNSProbeMessage.lookupName("10.96.0.10", type: .a) == "10.96.0.10")
    }

    @Test func expectedAnswersMatchAsWritten() {
        #expect(DNSProbeMessage.matches(expected: "0 100 80 web.default.svc.cluster.local", seen: "0 100 80 web.default.svc.cluster.local.", type: .srv))
        #expect(DNSProbeMessage.matches(expected: "80 Web.Default.svc.cluster.local.", seen: "0 100 80 web.default.svc.cluster.local.", type: .srv))
        #expect(!DNSProbeMessage.matches(expected: "81 web.default.svc.cluster.local", seen: "0 100 80 web.default.svc.cluster.local.", type: .srv))
        #expect(DNSProbeMessage.matches(expected: "web.default.svc.cluster.local", seen: "web.default.svc.cluster.local.", type: .ptr))
        #expect(!DNSProbeMessage.matches(expected: "10.96.0.1", seen: "10.96.0.10", type: .a))
    }

    // MARK: Verdicts

    static func seen(_ rcode: String?, _ answers: [String] = [], queries: [String] = ["web.x.svc.cluster.local. NOERROR"]) -> ProbeObservation {
        ProbeObservation(outcome: .reached, elapsedMilliseconds: 1,
                         lookup: LookupObservation(name: "web", type: "A", queries: queries, rcode: rcode,
                                                   answeredName: answers.isEmpty ? nil : "web.x.svc.cluster.local.", answers: answers))
    }

    static func explain(_ expect: ProbeExpectation, _ tries: [ProbeObservation]) -> String? { explain(expect, .a, tries) }

    static func explain(_ expect: ProbeExpectation, _ type: DNSProbeType, _ tries: [ProbeObservation]) -> String? {
        ProbeVerdict.evaluate(expect, action: .dns(name: "web", type: type), tries: tries).explanation
    }

    @Test func dnsVerdicts() {
        #expect(Self.explain(ProbeExpectation(), [Self.seen("NOERROR", ["10.96.0.1"])]) == nil)
        #expect(Self.explain(ProbeExpectation(answers: ["10.96.0.2", "10.96.0.1"]), [Self.seen("NOERROR", ["10.96.0.1", "10.96.0.2"])]) == nil)
        #expect(Self.explain(ProbeExpectation(answers: ["10.96.0.1"]), [Self.seen("NOERROR", ["10.96.0.1", "10.96.0.2"])])
            == "expected answers 10.96.0.1, got NOERROR 10.96.0.1, 10.96.0.2 (web.x.svc.cluster.local.): not listed 10.96.0.2")
        let nx = Self.seen("NXDOMAIN", queries: ["web.nope.x.svc.cluster.local. NXDOMAIN", "web.nope. NXDOMAIN"])
        #expect(Self.explain(ProbeExpectation(rcode: .nameError), [nx]) == nil)
        #expect(Self.explain(ProbeExpectation(), [nx])
            == "expected A answers, got NXDOMAIN after 2 names (asked web.nope.x.svc.cluster.local., web.nope.)")
        #expect(Self.explain(ProbeExpectation(answers: ["10.96.0.1"]), [nx])
            == "expected NOERROR, got NXDOMAIN after 2 names (asked web.nope.x.svc.cluster.local., web.nope.)")
        // NODATA: NOERROR and nothing.
        #expect(Self.explain(ProbeExpectation(answers: []), .aaaa, [Self.seen("NOERROR")]) == nil)
        #expect(Self.explain(ProbeExpectation(rcode: .nameError), .aaaa, [Self.seen("NOERROR")]) != nil)
        // No reply: a timeout is a block, so reach: false passes and reach: true says why.
        let silent = ProbeObservation(outcome: .timeout, detail: "the DNS query for web.x.svc.cluster.local. A to 10.96.0.10:53 got no answer",
                                      elapsedMilliseconds: 2000)
        #expect(Self.explain(ProbeExpectation(reach: false), [silent]) == nil)
        #expect(Self.explain(ProbeExpectation(), [silent])
            == "expected an answer, got timeout after 2.00s: the DNS query for web.x.svc.cluster.local. A to 10.96.0.10:53 got no answer")
        #expect(Self.explain(ProbeExpectation(reach: false), [nx])?.hasPrefix("expected no answer (reach: false), got NXDOMAIN") == true)
    }

    @Test func srvAnswersInEitherForm() {
        let answers = ["0 100 80 web.x.svc.cluster.local."]
        #expect(Self.explain(ProbeExpectation(answers: ["80 web.x.svc.cluster.local"]), .srv, [Self.seen("NOERROR", answers)]) == nil)
        #expect(Self.explain(ProbeExpectation(answers: ["0 100 80 web.x.svc.cluster.local"]), .srv, [Self.seen("NOERROR", answers)]) == nil)
        #expect(Self.explain(ProbeExpectation(answers: ["1 100 80 web.x.svc.cluster.local"]), .srv, [Self.seen("NOERROR", answers)]) != nil)
    }

    // MARK: Against the built-in server on 127.0.0.1

    /// A zone where service `web` in `x` has the ClusterIP 127.0.0.1 (so a probe by name lands on
    /// the test's agent), `db` is headless with 60 endpoints (more than 512 bytes of A records),
    /// and `api` exists in `y`.
    static func zone(webPort: Int) -> ClusterZone {
        let endpoints = (1...60).map { ClusterDNSInput.Endpoint(ip: IPv4Address(10, 244, 1, UInt8($0))) }
        return ClusterZone(ClusterDNSInput(services: [
            .init(name: "web", namespace: "x", clusterIP: loopback, ports: [.init(name: "http", protocol: .tcp, port: webPort)]),
            .init(name: "db", namespace: "x", clusterIP: nil, endpoints: endpoints),
            .init(name: "api", namespace: "y", clusterIP: IPv4Address(10, 96, 0, 30)),
        ]))
    }

    /// Serves `zone` on 127.0.0.1 (of `netns`, else here; port 0: the kernel's choice) for the
    /// duration of `body`, with its port.
    static func withDNS(_ zone: ClusterZone, port: Int = 0, netns: NetworkNamespace? = nil, _ body: (Int) throws -> Void) throws {
        let server = try DNSServer(address: "127.0.0.1", port: port, netns: netns, zone: zone) { _ in }
        let done = DispatchSemaphore(value: 0)
        Thread {
            server.run()
            done.signal()
        }.start()
        defer {
            server.stop()
            done.wait()
        }
        try body(server.port)
    }

    static func lookupTask(_ action: ProbeAction, name: String, serverPort: Int, port: Int = 0,
                           expect: ProbeExpectation = ProbeExpectation(), timeout: Duration = .seconds(2)) -> ProbeTask {
        let lookup = NameLookup(name: name, resolver: resolver, server: ProbeEndpoint(address: loopback, port: serverPort), port: port)
        let endpoint: ProbeEndpoint? = if case .dns = action { lookup.server } else { nil }
        return ProbeTask(name: name, from: "here", to: name, endpoint: endpoint, action: action, expectation: expect,
                         timeout: timeout, retries: 0, lookup: lookup)
    }

    @Test func aProbeByNameResolvesThenConnects() throws {
        try withAgents([AgentListener(pod: "web-1", protocol: .http, port: 0)]) { agents in
            let webPort = agents.boundPorts[0]
            try Self.withDNS(Self.zone(webPort: webPort)) { dnsPort in
                let result = probe(Self.lookupTask(.http(path: "/hostname", method: "GET"), name: "web", serverPort: dnsPort, port: webPort,
                                                   expect: ProbeExpectation(body: "web-1")))
                #expect(result.passed, "\(result.explanation ?? "")")
                let lookup = try #require(result.tries.first?.lookup)
                #expect(lookup.queries == ["web.x.svc.cluster.local. NOERROR"])
                #expect(lookup.answers == ["127.0.0.1"])
                #expect(lookup.address == "127.0.0.1")
                #expect(result.observed == "web → 127.0.0.1, HTTP 200 \"web-1\"")
                #expect(result.kindDescription == "http GET web:\(webPort)/hostname")
                // The JSON report carries the lookup whole.
                let json = ProbeJSONReport.render([result])
                #expect(json.contains("\"address\" : \"127.0.0.1\"") && json.contains("\"queries\" : ["))
                #expect(try ProbeJSONReport.decode(json).probes == [result])
                // A name of another namespace walks on past the first suffix.
                let other = probe(Self.lookupTask(.dns(name: "api.y", type: .a), name: "api.y", serverPort: dnsPort,
                                                  expect: ProbeExpectation(answers: ["10.96.0.30"])))
                #expect(other.passed, "\(other.explanation ?? "")")
                #expect(other.tries.first?.lookup?.queries == ["api.y.x.svc.cluster.local. NXDOMAIN", "api.y.svc.cluster.local. NOERROR"])
            }
        }
    }

    @Test func aNameThatDoesNotResolveFailsWithItsRcode() throws {
        try Self.withDNS(Self.zone(webPort: 1)) { dnsPort in
            let result = probe(Self.lookupTask(.tcp, name: "web.nope", serverPort: dnsPort, port: 80))
            #expect(!result.passed)
            #expect(result.tries.first?.outcome == .unresolved)
            // The lab's server refuses names outside its zones (it has no upstream), which ends
            // glibc's walk at the name as written.
            #expect(result.explanation == "expected an answer, got unresolved: web.nope: REFUSED after search web.nope.x.svc.cluster.local. NXDOMAIN, web.nope.svc.cluster.local. NXDOMAIN, web.nope.cluster.local. NXDOMAIN, web.nope. REFUSED")
            let inZone = probe(Self.lookupTask(.tcp, name: "web.nope.svc.cluster.local", serverPort: dnsPort, port: 80))
            #expect(inZone.explanation == "expected an answer, got unresolved: web.nope.svc.cluster.local: NXDOMAIN after search web.nope.svc.cluster.local.x.svc.cluster.local., web.nope.svc.cluster.local.svc.cluster.local., web.nope.svc.cluster.local.cluster.local., web.nope.svc.cluster.local.")
            let junit = ProbeJUnitReport.render([result], suite: "t")
            #expect(junit.contains("type=\"unresolved\""))
            let query = probe(Self.lookupTask(.dns(name: "nope.x.svc.cluster.local.", type: .a), name: "nope.x.svc.cluster.local.", serverPort: dnsPort,
                                              expect: ProbeExpectation(rcode: .nameError)))
            #expect(query.passed, "\(query.explanation ?? "")")
            #expect(query.observed.hasPrefix("NXDOMAIN after 1 name"))
        }
    }

    @Test func aProbeByNameWithSeveralAnswersSaysWhichItUsed() {
        let lookup = LookupObservation(name: "db", type: "A", queries: ["db.x.svc.cluster.local. NOERROR"], rcode: "NOERROR",
                                       answeredName: "db.x.svc.cluster.local.", answers: ["10.244.1.7", "10.244.2.9"], address: "10.244.1.7")
        let seen = ProbeObservation(outcome: .reached, elapsedMilliseconds: 1, answer: "db-0", lookup: lookup)
        #expect(ProbeFormat.observation(seen, action: .tcp) == "db → 10.244.1.7 of 10.244.1.7, 10.244.2.9, connected, greeting \"db-0\"")
        let result = ProbeResult(name: "db", from: "client", to: "db", endpoint: nil, byName: NamedTarget(name: "db", port: 9000),
                                 action: .tcp, expectation: ProbeExpectation(), tries: [seen], elapsedMilliseconds: 1)
        #expect(ProbeJUnitReport.testcase(result, suite: "s").contains("client → db: tcp db:9000: db → 10.244.1.7 of 10.244.1.7, 10.244.2.9, connected"))
    }

    @Test func aLargeAnswerIsAskedAgainOverTCP() throws {
        try Self.withDNS(Self.zone(webPort: 1)) { dnsPort in
            let all = (1...60).map { "10.244.1.\($0)" }
            let result = probe(Self.lookupTask(.dns(name: "db", type: .a), name: "db", serverPort: dnsPort, expect: ProbeExpectation(answers: all)))
            #expect(result.passed, "\(result.explanation ?? "")")
            #expect(result.tries.first?.lookup?.overTCP == true)
            let srv = probe(Self.lookupTask(.dns(name: "_http._tcp.web", type: .srv), name: "_http._tcp.web", serverPort: dnsPort,
                                            expect: ProbeExpectation(answers: ["1 web.x.svc.cluster.local"])))
            #expect(srv.passed, "\(srv.explanation ?? "")")
            let ptr = probe(Self.lookupTask(.dns(name: "10.96.0.30", type: .ptr), name: "10.96.0.30", serverPort: dnsPort,
                                            expect: ProbeExpectation(answers: ["api.y.svc.cluster.local"])))
            #expect(ptr.passed, "\(ptr.explanation ?? "")")
        }
    }

    @Test func aNameserverThatDoesNotAnswerIsADNSTimeoutAndOneThatRefusesSaysSo() throws {
        let silent = try SilentSocket(udp: true)
        let timedOut = probe(Self.lookupTask(.tcp, name: "web", serverPort: silent.port, port: 80, timeout: .milliseconds(300)))
        #expect(timedOut.tries.first?.outcome == .timeout)
        #expect(timedOut.explanation?.hasPrefix("expected an answer, got timeout after ") == true)
        #expect(timedOut.explanation?.hasSuffix(": the DNS query for web.x.svc.cluster.local. A to 127.0.0.1:\(silent.port) got no answer") == true,
                "\(timedOut.explanation ?? "")")
        #expect(timedOut.tries.first?.lookup?.queries == ["web.x.svc.cluster.local. timeout"])

        let closed = try closedPort(udp: true)
        let refused = probe(Self.lookupTask(.dns(name: "web", type: .a), name: "web", serverPort: closed))
        #expect(refused.tries.first?.outcome == .refused)
        #expect(refused.explanation?.contains("the DNS query for web.x.svc.cluster.local. A to 127.0.0.1:\(closed) was rejected") == true,
                "\(refused.explanation ?? "")")
        // reach: false takes either as the block it is (a policy denying DNS).
        #expect(probe(Self.lookupTask(.dns(name: "web", type: .a), name: "web", serverPort: closed, expect: ProbeExpectation(reach: false))).passed)
    }
}

@Suite struct ResolvConfReadingTests {
    @Test func aPodsFileIsReadAsGlibcReadsIt() throws {
        let model = NameLookup(name: "web", resolver: .clusterFirst(namespace: "x", nameserver: "10.96.0.10"),
                               server: ProbeEndpoint(address: IPv4Address(10, 96, 0, 10), port: 53), port: 80)
        let text = "# kubelet\nnameserver 10.96.0.99\nnameserver 10.96.0.98\nsearch a.svc.cluster.local svc.cluster.local\noptions ndots:2 timeout:1\n"
        let read = try #require(model.reading(resolvConf: text))
        #expect(read.server == ProbeEndpoint(address: IPv4Address(10, 96, 0, 99), port: 53))
        #expect(read.resolver.search == ["a.svc.cluster.local", "svc.cluster.local"])
        #expect(read.resolver.ndots == 2)
        #expect(read.port == 80 && read.name == "web")
        // Without options, glibc's ndots is 1; without a nameserver there is nothing to ask.
        #expect(model.reading(resolvConf: "nameserver 10.0.0.1\n")?.resolver.ndots == 1)
        #expect(model.reading(resolvConf: "search x\n") == nil)
    }
}
