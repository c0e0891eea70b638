import Foundation
import Glibc
import LabKernel
import Testing
@testable import LabDNS

/// The server on loopback, queried by dig (bind9-dnsutils) and by raw sockets. Serialized, so
/// one test's flood does not slow another.
@Suite(.serialized) struct DNSServerTests {
    static let zone = ClusterZoneTests.zone

    @Test(.enabled(if: digPath != nil, "dig is not installed (Debian: bind9-dnsutils; scripts/install-deps)"), arguments: ["udp", "tcp"])
    func digGetsEveryKindOfAnswer(_ transport: String) throws {
        let tcp = transport == "tcp" ? ["+tcp"] : []
        try withServer(Self.zone) { server, log in
            let a = try dig(tcp + ["web.default.svc.cluster.local", "A"], port: server.port)
            #expect(a.status == "NOERROR", "\(a.output)")
            #expect(a.flags.contains("aa") && !a.flags.contains("ra"))
            #expect(a.answers == ["A 10.96.0.20"], "\(a.output)")

            let srv = try dig(tcp + ["_http._tcp.web.default.svc.cluster.local", "SRV"], port: server.port)
            #expect(srv.answers == ["SRV 0 100 80 web.default.svc.cluster.local."], "\(srv.output)")

            let ptr = try dig(tcp + ["-x", "10.96.0.20"], port: server.port)
            #expect(ptr.answers == ["PTR web.default.svc.cluster.local."], "\(ptr.output)")

            let headless = try dig(tcp + ["DB.store.svc.cluster.local", "A"], port: server.port)
            #expect(headless.answers == ["A 10.244.1.4", "A 10.244.2.5"], "\(headless.output)")

            let missing = try dig(tcp + ["nope.default.svc.cluster.local", "A"], port: server.port)
            #expect(missing.status == "NXDOMAIN" && missing.answers.isEmpty)
            #expect(missing.authority.first?.hasPrefix("SOA ns.dns.cluster.local. hostmaster.cluster.local.") == true, "\(missing.output)")

            let outside = try dig(tcp + ["example.com", "A"], port: server.port)
            #expect(outside.status == "REFUSED", "\(outside.output)")

            let otherType = try dig(tcp + ["web.default.svc.cluster.local", "AAAA"], port: server.port)
            #expect(otherType.status == "NOERROR" && otherType.answers.isEmpty && otherType.authority.count == 1, "\(otherType.output)")

            let noEDNS = try dig(tcp + ["+noedns", "web.default.svc.cluster.local"], port: server.port)
            #expect(noEDNS.answers == ["A 10.96.0.20"])

            let lines = log.lines
            #expect(lines.count == 8, "\(lines)")
            #expect(lines.allSatisfy { $0.hasPrefix("[INFO] 127.0.0.1:") && $0.contains(" \(transport) ") })
            #expect(lines.contains { $0.contains("\"A IN web.default.svc.cluster.local. \(transport) ") && $0.contains("\" NOERROR qr,aa,rd ") })
            #expect(lines.contains { $0.contains("\"A IN example.com. \(transport) ") && $0.contains("\" REFUSED qr,rd ") })
            #expect(lines.contains { $0.contains("\" NXDOMAIN qr,aa,rd ") })
        }
    }

    @Test(.enabled(if: digPath != nil, "dig is not installed (Debian: bind9-dnsutils; scripts/install-deps)"))
    func largeAnswersSetTCAndDigRetriesOverTCP() throws {
        let endpoints = (1...60).map { ClusterDNSInput.Endpoint(ip: IPv4(10, 244, 3, UInt8($0))) }
        let zone = ClusterZone(ClusterDNSInput(services: [.init(name: "many", namespace: "default", clusterIP: nil, endpoints: endpoints)]))
        try withServer(zone) { server, log in
            let truncated = try dig(["+noedns", "+ignore", "many.default.svc.cluster.local"], port: server.port)
            #expect(truncated.flags.contains("tc"), "\(truncated.output)")
            #expect(truncated.answers.count < 60)
            let retried = try dig(["+noedns", "many.default.svc.cluster.local"], port: server.port)
            #expect(retried.answers.count == 60, "\(retried.output)")
            #expect(log.lines.last?.contains(" tcp ") == true, "dig retried over TCP")
        }
    }

    @Test(.enabled(if: digPath != nil, "dig is not installed (Debian: bind9-dnsutils; scripts/install-deps)"))
    func malformedDatagramsAreAnsweredOrDroppedAndTheNextQueryIsAnswered() throws {
        try withServer(Self.zone) { server, log in
            let client = TestUDPClient()
            let good = ClusterZoneTests.query("web.default.svc.cluster.local", .a, id: 77)
            var random = SplitMix64(seed: 53)
            var malformed: [[UInt8]] = [[], [1, 2, 3], Array(good.prefix(12)), Array(good.prefix(20)),
                                        [0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1],
                                        [0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 64] + Array(repeating: 0x61, count: 70),
                                        Array(repeating: 0xff, count: 60_000)]
            for _ in 0..<500 { malformed.append((0..<Int(random.next() % 200)).map { _ in UInt8(truncatingIfNeeded: random.next()) }) }
            for datagram in malformed { client.send(datagram, port: server.port) }
            // Wait until the server has seen them all, then drain the FORMERRs it sent.
            let deadline = Date().addingTimeInterval(5)
            while log.lines.count < malformed.count - 2, Date() < deadline { usleep(10_000) }
            var formErrors = 0
            while let reply = client.receive(flags: Int32(MSG_DONTWAIT)) {
                if let message = try? DNSMessage(decoding: reply), message.rcode == .formatError { formErrors += 1 }
            }
            #expect(formErrors >= 4, "the malformed queries with a readable header get FORMERR")
            #expect(log.lines.contains { $0.contains("\"- - - udp 12 ") && $0.contains(" FORMERR ") })
            client.send(good, port: server.port)
            let reply = try DNSMessage(decoding: try #require(client.receive()))
            #expect(reply.header.id == 77 && reply.answers.map(\.data.text) == ["10.96.0.20"])
            #expect(try dig(["web.default.svc.cluster.local"], port: server.port).answers == ["A 10.96.0.20"])
        }
    }

    @Test(.enabled(if: digPath != nil, "dig is not installed (Debian: bind9-dnsutils; scripts/install-deps)"))
    func badTCPFramingClosesOnlyThatConnection() throws {
        try withServer(Self.zone) { server, _ in
            let bad = try #require(TestTCPClient(port: server.port))
            bad.send([0xff, 0xff] + Array(repeating: 0, count: 100))
            #expect(bad.isClosedByServer(), "a length beyond the query limit ends the connection")
            let zero = try #require(TestTCPClient(port: server.port))
            zero.send([0, 0])
            #expect(zero.isClosedByServer())
            // A body that is not DNS (a header claiming 3,598 questions) gets FORMERR and the
            // connection goes on.
            let garbage = try #require(TestTCPClient(port: server.port))
            garbage.send(framed(Array(repeating: 0x0e, count: 30)) + framed(ClusterZoneTests.query("web.default.svc.cluster.local", .a, id: 5)))
            let first = try DNSMessage(decoding: try #require(garbage.readMessage()))
            #expect(first.rcode == .formatError)
            let second = try DNSMessage(decoding: try #require(garbage.readMessage()))
            #expect(second.header.id == 5 && second.answers.count == 1)
            #expect(try dig(["+tcp", "web.default.svc.cluster.local"], port: server.port).answers == ["A 10.96.0.20"])
        }
    }

    @Test func pipelinedTCPQueriesAreAnsweredInOrder() throws {
        try withServer(Self.zone) { server, _ in
            let client = try #require(TestTCPClient(port: server.port))
            var batch: [UInt8] = []
            for id in 1...50 { batch += framed(ClusterZoneTests.query("web.default.svc.cluster.local", .a, id: UInt16(id))) }
            client.send(batch)
            for id in 1...50 {
                let reply = try DNSMessage(decoding: try #require(client.readMessage()))
                #expect(reply.header.id == UInt16(id))
            }
        }
    }

    /// A client that pipelines queries and never reads its answers stops being read once its
    /// answers back up; the loop goes on serving everyone else.
    @Test(.enabled(if: digPath != nil, "dig is not installed (Debian: bind9-dnsutils; scripts/install-deps)"))
    func aTCPClientThatDoesNotReadDoesNotBlockOthers() throws {
        try withServer(Self.zone) { server, log in
            let greedy = try #require(TestTCPClient(port: server.port))
            let query = framed(ClusterZoneTests.query("_pg._tcp.db.store.svc.cluster.local", .srv))
            var batch: [UInt8] = []
            for _ in 0..<1000 { batch += query }
            var sentBytes = 0
            for _ in 0..<200 {
                let count = batch.withUnsafeBytes { send(greedy.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
                if count <= 0 { break }
                sentBytes += count
            }
            #expect(sentBytes > 0)
            let answered = try dig(["+tcp", "web.default.svc.cluster.local"], port: server.port)
            #expect(answered.answers == ["A 10.96.0.20"], "\(answered.output)")
            let udp = try dig(["web.default.svc.cluster.local"], port: server.port)
            #expect(udp.answers == ["A 10.96.0.20"])
            let greedyAnswers = log.lines.filter { $0.contains("SRV IN") }.count
            #expect(greedyAnswers < sentBytes / query.count, "\(greedyAnswers) of \(sentBytes / query.count) queries answered while nobody read")
        }
    }

    @Test(.enabled(if: digPath != nil, "dig is not installed (Debian: bind9-dnsutils; scripts/install-deps)"))
    func tcpConnectionsAreCappedAndIdleOnesClosed() throws {
        let limits = DNSServerLimits(maxTCPConnections: 4, tcpIdleTimeout: .milliseconds(400))
        try withServer(Self.zone, limits: limits) { server, _ in
            let idle = (0..<4).compactMap { _ in TestTCPClient(port: server.port) }
            #expect(idle.count == 4)
            usleep(50_000)
            let extra = try #require(TestTCPClient(port: server.port))
            #expect(extra.isClosedByServer(), "a fifth connection is closed at once")
            usleep(600_000)
            #expect(idle.allSatisfy { $0.isClosedByServer() }, "idle connections are closed after the timeout")
            #expect(try dig(["+tcp", "web.default.svc.cluster.local"], port: server.port).answers == ["A 10.96.0.20"])
        }
    }

    /// One source sends as fast as it can; another, with a different address, still gets every
    /// answer, and the server says whose queries it dropped. The victim retries as a resolver
    /// does (glibc: 2 attempts): while the socket's queue is full the kernel drops datagrams
    /// before the server can tell whose they are.
    @Test(.enabled(if: digPath != nil, "dig is not installed (Debian: bind9-dnsutils; scripts/install-deps)"))
    func aFloodFromOneSourceDoesNotStarveAnother() throws {
        let limits = DNSServerLimits(queriesPerSecondPerSource: 2_000, burstPerSource: 200)
        try withServer(Self.zone, limits: limits) { server, log in
            let port = server.port
            let finished = DispatchSemaphore(value: 0)
            Thread {
                let flooder = TestUDPClient(address: "127.0.0.2")
                let query = ClusterZoneTests.query("web.default.svc.cluster.local", .a)
                for _ in 0..<100_000 { flooder.send(query, port: port, flags: Int32(MSG_DONTWAIT)) }
                finished.signal()
            }.start()
            var answered = 0
            for _ in 0..<5 {
                let result = try dig(["-b", "127.0.0.3", "+tries=3", "+time=1", "web.default.svc.cluster.local"], port: port)
                if result.answers == ["A 10.96.0.20"] { answered += 1 }
            }
            finished.wait()
            #expect(answered == 5)
            // Drops are reported at the next sweep of the loop, within a second.
            let deadline = Date().addingTimeInterval(3)
            while !log.lines.contains(where: { $0.hasPrefix("[WARNING]") }), Date() < deadline { usleep(20_000) }
            #expect(log.lines.contains { $0.hasPrefix("[WARNING] dropped ") && $0.contains(" from 127.0.0.2:") })
            let floodAnswers = log.lines.filter { $0.hasPrefix("[INFO] 127.0.0.2:") }.count
            #expect(floodAnswers < 20_000, "the flooder got \(floodAnswers) answers")
        }
    }

    /// Throughput from one client keeping 32 queries in flight, without a per-source limit: a
    /// floor that catches a loop gone slow (a lock per byte, a process per query), printed so a
    /// run shows the number.
    @Test func answersThousandsOfQueriesPerSecond() throws {
        let limits = DNSServerLimits(queriesPerSecondPerSource: 0)
        try withServer(Self.zone, limits: limits) { server, log in
            let client = TestUDPClient()
            let total = 20_000
            let window = 32
            var sent = 0
            var received = 0
            let started = ContinuousClock.now
            while received < total {
                while sent < total, sent - received < window {
                    client.send(ClusterZoneTests.query("web.default.svc.cluster.local", .a, id: UInt16(truncatingIfNeeded: sent)), port: server.port)
                    sent += 1
                }
                guard client.receive() != nil else { break }
                received += 1
            }
            let elapsed = ContinuousClock.now - started
            let rate = Double(received) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            print("DNS server: \(received) UDP queries answered in \(elapsed), \(Int(rate)) per second")
            #expect(received == total)
            #expect(rate > 2_000)
            // The last line is written just after its answer is sent.
            let deadline = Date().addingTimeInterval(2)
            while log.lines.count < total, Date() < deadline { usleep(1_000) }
            #expect(log.lines.count == total)
        }
    }

    @Test func updatedZoneIsServedAtOnce() throws {
        try withServer(Self.zone) { server, _ in
            let client = TestUDPClient()
            let query = ClusterZoneTests.query("new.default.svc.cluster.local", .a)
            client.send(query, port: server.port)
            let before = try DNSMessage(decoding: try #require(client.receive()))
            #expect(before.rcode == .nameError)
            server.update(ClusterZone(ClusterDNSInput(services: [.init(name: "new", namespace: "default", clusterIP: IPv4("10.96.0.99"))])))
            client.send(query, port: server.port)
            let after = try DNSMessage(decoding: try #require(client.receive()))
            #expect(after.answers.map(\.data.text) == ["10.96.0.99"])
        }
    }

    @Test func queriesAreLoggedToAFile() throws {
        let path = "/tmp/labtest-dns-\(getpid()).log"
        defer { unlink(path) }
        let file = try DNSLogFile(path: path)
        let server = try DNSServer(address: "127.0.0.1", port: 0, zone: Self.zone) { file.write($0) }
        let done = DispatchSemaphore(value: 0)
        Thread { server.run(); done.signal() }.start()
        let client = TestUDPClient()
        for name in ["web.default.svc.cluster.local", "nope.default.svc.cluster.local"] {
            client.send(ClusterZoneTests.query(name, .a), port: server.port)
            _ = client.receive()
        }
        server.stop()
        done.wait()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.contains("\"A IN web.default.svc.cluster.local. udp ") == true)
        #expect(lines.last?.contains("\" NXDOMAIN qr,aa,rd ") == true)
        #expect(throws: DNSLogFileError.self) { try DNSLogFile(path: "/nonexistent-dir/x.log") }
    }

    @Test func aTakenPortIsAnErrorThatSaysWhere() throws {
        try withServer(Self.zone) { server, _ in
            #expect {
                _ = try DNSServer(address: "127.0.0.1", port: server.port, zone: Self.zone) { _ in }
            } throws: { error in
                "\(error)".contains("bind UDP 127.0.0.1:\(server.port)") && "\(error)".contains("another server holds the port")
            }
        }
    }

    /// The server as the lab runs it: port 53 inside a network namespace of its own, queried
    /// with dig through `ip netns exec`.
    @Test(.enabled(if: getuid() == 0 && digPath != nil, "needs root and dig"))
    func servesPort53InsideANetworkNamespace() throws {
        let name = "labtest-dns-\(getpid())"
        let namespace = try NetworkNamespace.create(name)
        defer { try? NetworkNamespace.delete(name) }
        try RouteSocket(in: namespace).submit(.setUp(link: "lo"))
        try withServer(Self.zone, port: 53, netns: namespace) { server, log in
            #expect(server.port == 53)
            let udp = try dig(["web.default.svc.cluster.local"], port: 53, netns: name)
            #expect(udp.answers == ["A 10.96.0.20"], "\(udp.output)")
            let tcp = try dig(["+tcp", "_pg._tcp.db.store.svc.cluster.local", "SRV"], port: 53, netns: name)
            #expect(tcp.answers.count == 2, "\(tcp.output)")
            #expect(log.lines.count == 2)
        }
        #expect(try namespace.perform { () -> Bool in
            // Nothing of the server is left listening once it is gone.
            let probe = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(probe) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(53).bigEndian)
            inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
            return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
        }, "port 53 is free again")
    }
}
