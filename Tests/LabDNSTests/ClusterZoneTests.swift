import Testing
@testable import LabDNS

/// The answers of the `kubernetes` plugin, as a pure function of a query and a zone.
@Suite struct ClusterZoneTests {
    static let input = ClusterDNSInput(
        services: [
            .init(name: "web", namespace: "default", clusterIP: IPv4("10.96.0.20"),
                  ports: [.init(name: "http", protocol: .tcp, port: 80), .init(name: nil, protocol: .tcp, port: 81)],
                  endpoints: [.init(ip: IPv4("10.244.1.3")!, ports: [.init(name: "http", protocol: .tcp, port: 8080)])]),
            .init(name: "db", namespace: "store", clusterIP: nil,
                  ports: [.init(name: "pg", protocol: .tcp, port: 5432)],
                  endpoints: [.init(ip: IPv4("10.244.2.5")!, ports: [.init(name: "pg", protocol: .tcp, port: 5433)]),
                              .init(ip: IPv4("10.244.1.4")!, ports: [.init(name: "pg", protocol: .tcp, port: 5433)])]),
            .init(name: "empty", namespace: "store", clusterIP: nil, ports: [], endpoints: []),
        ],
        pods: [.init(name: "a", namespace: "default", ip: IPv4("10.244.1.2")!),
               .init(name: "web-1", namespace: "default", ip: IPv4("10.244.1.3")!)],
        namespaces: ["kube-system"],
        nameserver: IPv4("10.96.0.10"))
    static let zone = ClusterZone(input)

    static func ask(_ name: String, _ type: DNSType, zone: ClusterZone = zone, edns: EDNS? = nil) -> DNSMessage {
        zone.answer(DNSMessage(header: DNSHeader(id: 42, recursionDesired: true),
                               questions: [DNSQuestion(name: DNSName(name)!, type: type)], edns: edns))
    }

    static func texts(_ records: [DNSRecord]) -> [String] { records.map(\.data.text) }

    @Test func serviceAIsTheClusterIP() {
        let reply = Self.ask("web.default.svc.cluster.local", .a)
        #expect(reply.rcode == .noError)
        #expect(reply.header.authoritative && reply.header.isResponse && reply.header.recursionDesired && !reply.header.recursionAvailable)
        #expect(reply.header.id == 42)
        #expect(Self.texts(reply.answers) == ["10.96.0.20"])
        #expect(reply.answers[0].ttl == 30)
    }

    @Test func namesMatchWithoutCaseAndEchoTheQuestion() {
        let reply = Self.ask("WEB.Default.SVC.cluster.LOCAL.", .a)
        #expect(Self.texts(reply.answers) == ["10.96.0.20"])
        #expect(reply.answers[0].name.description == "WEB.Default.SVC.cluster.LOCAL.")
    }

    @Test func headlessIsOneAPerEndpointAndNoneIsNXDOMAIN() {
        #expect(Self.texts(Self.ask("db.store.svc.cluster.local", .a).answers) == ["10.244.1.4", "10.244.2.5"])
        let empty = Self.ask("empty.store.svc.cluster.local", .a)
        #expect(empty.rcode == .nameError && empty.answers.isEmpty)
        #expect(empty.authorities.first?.type == .soa)
    }

    @Test func endpointsHaveNamesOfTheirDashedAddress() {
        #expect(Self.texts(Self.ask("10-244-2-5.db.store.svc.cluster.local", .a).answers) == ["10.244.2.5"])
        #expect(Self.texts(Self.ask("10-244-1-3.web.default.svc.cluster.local", .a).answers) == ["10.244.1.3"])
    }

    @Test func srvForNamedPortsOnly() {
        let reply = Self.ask("_http._tcp.web.default.svc.cluster.local", .srv)
        #expect(Self.texts(reply.answers) == ["0 100 80 web.default.svc.cluster.local."])
        #expect(Self.texts(reply.additionals) == ["10.96.0.20"], "the target's address rides along")
        let headless = Self.ask("_pg._tcp.db.store.svc.cluster.local", .srv)
        #expect(Self.texts(headless.answers) == ["0 50 5433 10-244-1-4.db.store.svc.cluster.local.",
                                                 "0 50 5433 10-244-2-5.db.store.svc.cluster.local."])
        #expect(Self.ask("_http._udp.web.default.svc.cluster.local", .srv).rcode == .nameError)
        #expect(Self.ask("_81._tcp.web.default.svc.cluster.local", .srv).rcode == .nameError)
    }

    @Test func ptrForClusterIPsEndpointsAndPods() {
        #expect(Self.texts(Self.ask("20.0.96.10.in-addr.arpa", .ptr).answers) == ["web.default.svc.cluster.local."])
        #expect(Self.texts(Self.ask("5.2.244.10.in-addr.arpa", .ptr).answers) == ["10-244-2-5.db.store.svc.cluster.local."])
        #expect(Self.texts(Self.ask("2.1.244.10.in-addr.arpa", .ptr).answers) == ["10-244-1-2.default.pod.cluster.local."])
        let unknown = Self.ask("9.9.9.9.in-addr.arpa", .ptr)
        #expect(unknown.rcode == .nameError && unknown.header.authoritative)
        #expect(unknown.authorities.first?.name.description == "in-addr.arpa.")
    }

    @Test func podNamesAreAnsweredInsecurelyInExistingNamespaces() {
        #expect(Self.texts(Self.ask("10-244-1-2.default.pod.cluster.local", .a).answers) == ["10.244.1.2"])
        #expect(Self.texts(Self.ask("1-2-3-4.kube-system.pod.cluster.local", .a).answers) == ["1.2.3.4"],
                "pods insecure echoes any address, as kube-dns did")
        #expect(Self.ask("1-2-3-4.nowhere.pod.cluster.local", .a).rcode == .nameError)
        #expect(Self.ask("1-2-3.default.pod.cluster.local", .a).rcode == .nameError)
        let dotted = DNSName(labels: [Array("1.2-3-4".utf8), Array("default".utf8), Array("pod".utf8), Array("cluster".utf8), Array("local".utf8)])!
        let reply = Self.zone.answer(DNSMessage(header: DNSHeader(id: 1), questions: [DNSQuestion(name: dotted, type: .a)]))
        #expect(reply.rcode == .nameError, "a dot inside the label is not an address")
        #expect(Self.ask("1-2-3-4.default.pod.cluster.local", .aaaa).rcode == .noError)
    }

    @Test func verifiedAndDisabledPods() {
        var verifiedInput = Self.input
        verifiedInput.options.pods = .verified
        let verified = ClusterZone(verifiedInput)
        #expect(Self.texts(Self.ask("10-244-1-2.default.pod.cluster.local", .a, zone: verified).answers) == ["10.244.1.2"])
        #expect(Self.ask("1-2-3-4.default.pod.cluster.local", .a, zone: verified).rcode == .nameError)
        var disabledInput = Self.input
        disabledInput.options.pods = .disabled
        #expect(Self.ask("10-244-1-2.default.pod.cluster.local", .a, zone: ClusterZone(disabledInput)).rcode == .nameError)
    }

    @Test func anotherTypeOfAnExistingNameIsNODATA() {
        for (name, type) in [("web.default.svc.cluster.local", DNSType.aaaa), ("web.default.svc.cluster.local", .txt),
                             ("db.store.svc.cluster.local", .srv), ("default.svc.cluster.local", .a),
                             ("svc.cluster.local", .a), ("kube-system.svc.cluster.local", .a)] {
            let reply = Self.ask(name, type)
            #expect(reply.rcode == .noError && reply.answers.isEmpty, "\(type) \(name)")
            #expect(reply.authorities.map(\.type) == [.soa], "\(type) \(name)")
            #expect(reply.authorities.first?.ttl == 30)
        }
    }

    @Test func missingNamesInTheZoneAreNXDOMAIN() {
        for name in ["nope.default.svc.cluster.local", "web.nope.svc.cluster.local", "web.default.cluster.local",
                     "x.web.default.svc.cluster.local", "other.cluster.local"] {
            let reply = Self.ask(name, .a)
            #expect(reply.rcode == .nameError, "\(name)")
            #expect(reply.header.authoritative)
            #expect(reply.authorities.first?.data.text == "ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 30")
        }
    }

    @Test func namesOutsideTheZoneAreRefused() {
        for name in ["example.com", "cluster.local.example.com", "local", "."] {
            let reply = Self.ask(name, .a)
            #expect(reply.rcode == .refused, "\(name)")
            #expect(!reply.header.authoritative && reply.answers.isEmpty && reply.authorities.isEmpty)
            #expect(reply.questions.count == 1)
        }
    }

    @Test func apexRecords() {
        #expect(Self.ask("cluster.local", .soa).answers.map(\.type) == [.soa])
        let ns = Self.ask("cluster.local", .ns)
        #expect(Self.texts(ns.answers) == ["ns.dns.cluster.local."])
        #expect(Self.texts(ns.additionals) == ["10.96.0.10"])
        #expect(Self.texts(Self.ask("dns-version.cluster.local", .txt).answers) == ["\"1.1.0\""])
    }

    @Test func opcodesQuestionCountsAndEDNSVersions() {
        var notify = DNSMessage(header: DNSHeader(id: 1, opcode: 4), questions: [DNSQuestion(name: DNSName("cluster.local")!, type: .soa)])
        #expect(Self.zone.answer(notify).rcode == .notImplemented)
        notify.header.opcode = 0
        notify.questions += notify.questions
        #expect(Self.zone.answer(notify).rcode == .formatError)
        notify.questions = []
        #expect(Self.zone.answer(notify).rcode == .formatError)
        let badVersion = Self.ask("web.default.svc.cluster.local", .a, edns: EDNS(udpPayloadSize: 4096, version: 1))
        #expect(badVersion.rcode == .badVersion && badVersion.answers.isEmpty)
        let withEDNS = Self.ask("web.default.svc.cluster.local", .a, edns: EDNS(udpPayloadSize: 4096, dnssecOK: true))
        #expect(withEDNS.edns == EDNS(udpPayloadSize: 1232, dnssecOK: true))
        #expect(Self.ask("web.default.svc.cluster.local", .a).edns == nil, "no OPT in a reply to a query without one")
    }

    @Test func chaosClassIsRefused() {
        let reply = Self.zone.answer(DNSMessage(header: DNSHeader(id: 1), questions: [DNSQuestion(name: DNSName("version.bind")!, type: .txt, class: .chaos)]))
        #expect(reply.rcode == .refused)
    }

    // MARK: bytes in, bytes out

    static func query(_ name: String, _ type: DNSType, id: UInt16 = 7, edns: EDNS? = nil) -> [UInt8] {
        DNSMessage(header: DNSHeader(id: id, recursionDesired: true), questions: [DNSQuestion(name: DNSName(name)!, type: type)], edns: edns).encoded()
    }

    @Test func malformedQueriesGetFORMERRWhenTheHeaderIsReadable() throws {
        let good = Self.query("web.default.svc.cluster.local", .a, id: 0x1234)
        for length in 12..<good.count {
            let exchange = Self.zone.respond(to: Array(good.prefix(length)), transport: .udp)
            let reply = try DNSMessage(decoding: try #require(exchange.reply))
            #expect(reply.header.id == 0x1234 && reply.rcode == .formatError && reply.header.isResponse, "prefix \(length)")
        }
        for length in 0..<12 {
            #expect(Self.zone.respond(to: Array(good.prefix(length)), transport: .udp).reply == nil, "no header in \(length) bytes")
        }
        var response = good
        response[2] |= 0x80
        #expect(Self.zone.respond(to: response, transport: .udp).reply == nil, "responses are never answered")
    }

    @Test func largeUDPAnswersAreTruncatedAndTCPOnesAreNot() throws {
        let endpoints = (1...60).map { ClusterDNSInput.Endpoint(ip: IPv4(10, 244, 3, UInt8($0))) }
        let zone = ClusterZone(ClusterDNSInput(services: [.init(name: "many", namespace: "default", clusterIP: nil, endpoints: endpoints)]))
        let query = Self.query("many.default.svc.cluster.local", .a)
        let udp = try DNSMessage(decoding: try #require(zone.respond(to: query, transport: .udp).reply))
        #expect(udp.header.truncated && udp.answers.count < 60)
        let tcp = try DNSMessage(decoding: try #require(zone.respond(to: query, transport: .tcp).reply))
        #expect(!tcp.header.truncated && tcp.answers.count == 60)
        let ednsQuery = Self.query("many.default.svc.cluster.local", .a, edns: EDNS(udpPayloadSize: 4096))
        let edns = try DNSMessage(decoding: try #require(zone.respond(to: ednsQuery, transport: .udp).reply))
        #expect(!edns.header.truncated && edns.answers.count == 60, "the EDNS size is honoured")
        let tiny = Self.query("many.default.svc.cluster.local", .a, edns: EDNS(udpPayloadSize: 100))
        let exchange = zone.respond(to: tiny, transport: .udp)
        #expect(exchange.bufferSize == 512, "sizes below 512 count as 512")
        #expect(try #require(exchange.reply).count <= 512)
    }

    @Test func logLineLooksLikeCoreDNS() {
        let exchange = Self.zone.respond(to: Self.query("web.default.svc.cluster.local", .a, id: 23857), transport: .udp)
        let line = DNSQueryLog.line(client: "10.244.1.5:46021", transport: .udp, exchange: exchange, duration: .nanoseconds(112_000))
        #expect(line == "[INFO] 10.244.1.5:46021 - 23857 \"A IN web.default.svc.cluster.local. udp 47 false 512\" NOERROR qr,aa,rd 63 0.000112s")
        #expect(DNSQueryLog.seconds(.seconds(2)) == "2s")
        #expect(DNSQueryLog.seconds(.milliseconds(1500)) == "1.5s")
    }

    @Test func namesWithOddBytesPrintEscaped() {
        let name = DNSName(labels: [[0x61, 0x2e, 0x0a], Array("b".utf8)])!
        #expect(name.description == "a\\.\\010.b.")
    }
}
