import Foundation
import Glibc
import LabAgent
import Testing

/// The server on 127.0.0.1 with in-process clients. Serialized, so one test's sockets do not
/// meet another's; descriptor checks go by the kernel's identity of each descriptor, so suites
/// running in parallel do not disturb them.
@Suite(.serialized) struct AgentServerTests {
    @Test func everyHTTPPath() throws {
        try withServer([loopback("web-1", .http)]) { server in
            let port = server.port()
            for (path, status, body) in [("/", 200, "web-1"), ("/hostname", 200, "web-1"), ("/healthz", 200, "ok"),
                                         ("/echo?msg=hello+there%21", 200, "hello there!"), ("/nope", 404, "404 page not found\n")] {
                let (response, client) = try TestSocket.get(path, port: port)
                #expect(response.status == status, "\(path)")
                #expect(response.body == body, "\(path)")
                #expect(response.headers["content-type"] == "text/plain; charset=utf-8")
                #expect(response.headers["content-length"] == String(body.utf8.count))
                #expect(response.headers["connection"] == "close")
                #expect(try client.readsEndOfStream(), "the server closes after Connection: close")
            }
        }
    }

    @Test func clientIPIsThePeerAsTheSocketSawIt() throws {
        try withServer([loopback("web-1", .http)]) { server in
            let (response, client) = try TestSocket.get("/clientip", port: server.port())
            #expect(response.status == 200)
            #expect(response.body == client.localAddress)
            #expect(response.body.hasPrefix("127.0.0.1:"))
        }
    }

    @Test func clientIPOverIPv6() throws {
        let probe = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        let hasIPv6 = probe >= 0
        if probe >= 0 { close(probe) }
        try #require(hasIPv6, "no IPv6 sockets here")
        let listener = AgentListener(pod: "v6", protocol: .http, port: 0, address: "::1")
        let running: RunningServer
        do {
            running = try RunningServer([listener])
        } catch let error as AgentError where error.errno == EADDRNOTAVAIL {
            return // IPv6 loopback disabled on this machine
        }
        defer { #expect(running.stop()) }
        let client = try TestSocket.connect(port: running.port(), ipv6: true)
        try client.send("GET /clientip HTTP/1.1\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.body == client.localAddress)
        #expect(response.body.hasPrefix("[::1]:"))
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() throws {
        try withServer([loopback("web-1", .http)]) { server in
            let client = try TestSocket.connect(port: server.port())
            try client.send("GET /hostname HTTP/1.1\r\nHost: a\r\n\r\n")
            let first = try client.readResponse()
            #expect(first.body == "web-1")
            #expect(first.headers["connection"] == nil)
            try client.send("GET /echo?msg=again HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().body == "again")
            // HTTP/1.0 asking for keep-alive is told so explicitly.
            try client.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let third = try client.readResponse()
            #expect(third.body == "ok")
            #expect(third.headers["connection"] == "keep-alive")
            try client.send("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            #expect(try client.readResponse().headers["connection"] == "close")
            #expect(try client.readsEndOfStream())
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        try withServer([loopback("web-1", .http)]) { server in
            let client = try TestSocket.connect(port: server.port())
            try client.send("GET /echo?msg=1 HTTP/1.1\r\n\r\nHEAD /hostname HTTP/1.1\r\n\r\nGET /echo?msg=3 HTTP/1.1\r\n\r\n")
            #expect(try client.readResponse().body == "1")
            let head = try client.readResponse(toHEAD: true)
            #expect(head.status == 200)
            #expect(head.headers["content-length"] == "5")
            #expect(try client.readResponse().body == "3")
        }
    }

    @Test func headHasNoBodyAndOtherMethodsAre405() throws {
        try withServer([loopback("web-1", .http)]) { server in
            let client = try TestSocket.connect(port: server.port())
            try client.send("HEAD / HTTP/1.1\r\nConnection: close\r\n\r\n")
            let head = try client.readResponse(toHEAD: true)
            #expect(head.headers["content-length"] == "5")
            #expect(try client.readToEnd().isEmpty, "a HEAD response has no body")

            let post = try TestSocket.connect(port: server.port())
            try post.send("POST /echo HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody")
            let refused = try post.readResponse()
            #expect(refused.status == 405)
            #expect(refused.headers["allow"] == "GET, HEAD")
            #expect(refused.headers["connection"] == "close", "a request with a body ends the connection")
            #expect(try post.readsEndOfStream())
        }
    }

    @Test func badRequestsGet400AndAreClosed() throws {
        try withServer([loopback("web-1", .http)]) { server in
            let client = try TestSocket.connect(port: server.port())
            try client.send("HELLO\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 400)
            #expect(response.headers["connection"] == "close")
            #expect(try client.readsEndOfStream())
        }
    }

    @Test func oversizedHeadersGet431BeforeTheClientFinishes() throws {
        try withServer([loopback("web-1", .http)]) { server in
            let client = try TestSocket.connect(port: server.port())
            // Far more than the server reads before answering: closing with that unread would
            // reset the connection and destroy the answer, so the server must linger.
            try client.send("GET / HTTP/1.1\r\n" + String(repeating: "X-Padding: " + String(repeating: "a", count: 500) + "\r\n", count: 400))
            let response = try client.readResponse()
            #expect(response.status == 431)
            #expect(try client.readsEndOfStream())
        }
    }

    @Test func tcpGreetsWithThePodNameAndEchoesLines() throws {
        try withServer([loopback("db-0", .tcp)]) { server in
            let client = try TestSocket.connect(port: server.port())
            #expect(try client.readLine() == "db-0")
            try client.send("one\n")
            #expect(try client.readLine() == "one")
            try client.send("two\nthree\nfo")
            #expect(try client.readLine() == "two")
            #expect(try client.readLine() == "three")
            try client.send("ur\n")
            #expect(try client.readLine() == "four")
            let long = String(repeating: "x", count: 200_000)
            try client.send(long + "\nlast")
            #expect(try client.readLine() == long)
            // Half-closing still gets the rest echoed before the server closes.
            shutdown(client.fd, Int32(SHUT_WR))
            #expect(try client.readToEnd() == Array("last".utf8))
        }
    }

    @Test func udpAnswersWithPodAndClientAddress() throws {
        try withServer([loopback("dns-a", .udp), loopback("dns-b", .udp)]) { server in
            let client = try TestSocket.udp()
            for (index, pod) in ["dns-a", "dns-b"].enumerated() {
                try client.sendDatagram("hello", port: server.port(index))
                #expect(try client.receiveDatagram() == "\(pod) \(client.localAddress)")
            }
            try client.sendDatagram("", port: server.port(0))
            #expect(try client.receiveDatagram() == "dns-a \(client.localAddress)", "even an empty datagram is answered")
        }
    }

    @Test func twoHundredListenersForAHundredPodsInOneServer() throws {
        let pods = (0..<100).map { "pod-\($0)" }
        let listeners = pods.flatMap { [loopback($0, .http), loopback($0, .tcp)] }
        try withServer(listeners) { server in
            #expect(server.server.boundPorts.count == 200)
            #expect(Set(server.server.boundPorts).count == 200)
            for (index, pod) in pods.enumerated() {
                let http = try TestSocket.get("/hostname", port: server.port(2 * index)).response
                let greeting = try TestSocket.connect(port: server.port(2 * index + 1)).readLine()
                #expect(http.body == pod)
                #expect(greeting == pod)
            }
        }
    }

    @Test func manyConcurrentConnectionsOnOneThread() throws {
        try withServer([loopback("web-1", .http), loopback("db-0", .tcp)]) { server in
            let clients = try (0..<100).map { _ in try TestSocket.connect(port: server.port(0)) }
            let echoes = try (0..<100).map { _ in try TestSocket.connect(port: server.port(1)) }
            for (index, client) in clients.enumerated() { try client.send("GET /echo?msg=\(index) HTTP/1.1\r\n\r\n") }
            for (index, echo) in echoes.enumerated() { try echo.send("line \(index)\n") }
            for (index, client) in clients.enumerated().reversed() { #expect(try client.readResponse().body == "\(index)") }
            for (index, echo) in echoes.enumerated() {
                #expect(try echo.readLine() == "db-0")
                #expect(try echo.readLine() == "line \(index)")
            }
        }
    }

    @Test func aTakenPortIsATypedErrorAndLeaksNothing() throws {
        try withServer([loopback("first", .tcp), loopback("first", .udp)]) { first in
            let taken = first.port(0)
            let listeners = [loopback("ok", .http), AgentListener(pod: "web-1", protocol: .http, port: taken, address: "127.0.0.1")]
            let error = #expect(throws: AgentError.self) { try AgentServer(listeners: listeners) }
            #expect(error?.pod == "web-1")
            #expect(error?.protocol == .http)
            #expect(error?.port == taken)
            #expect(error?.errno == EADDRINUSE)
            #expect(error?.operation == "bind")
            #expect(error?.description.contains("web-1") == true)

            let udp = AgentListener(pod: "dns", protocol: .udp, port: first.port(1), address: "127.0.0.1")
            let udpError = #expect(throws: AgentError.self) { try AgentServer(listeners: [udp]) }
            #expect(udpError?.errno == EADDRINUSE)
            #expect(udpError?.protocol == .udp)

            // Two listeners of one server on the same port clash the same way.
            let twice = #expect(throws: AgentError.self) {
                try AgentServer(listeners: [loopback("a", .tcp), AgentListener(pod: "b", protocol: .tcp, port: taken, address: "127.0.0.1")])
            }
            #expect(twice?.pod == "b")

            // A failed start leaks nothing: 200 of them would leave 200 descriptors or more
            // (the epoll set, the wake-up pair, the listener opened before the clash), far
            // beyond what other suites running alongside open meanwhile.
            let before = try openDescriptorCount()
            for _ in 0..<200 { _ = try? AgentServer(listeners: listeners) }
            #expect(try openDescriptorCount() < before + 100)
        }
    }

    @Test func invalidAddressesAreTypedErrors() {
        let error = #expect(throws: AgentError.self) {
            try AgentServer(listeners: [AgentListener(pod: "x", protocol: .udp, port: 80, address: "10.0.0.300")])
        }
        #expect(error?.errno == EINVAL)
        #expect(error?.operation == "parse address")
    }

    @Test func stopEndsRunPromptlyAndClosesEveryDescriptor() throws {
        var held: [(fd: Int32, identity: DescriptorIdentity?)] = []
        do {
            let running = try RunningServer([loopback("web-1", .http), loopback("db-0", .tcp), loopback("dns", .udp)])
            held = running.server.descriptors.map { ($0, DescriptorIdentity($0)) }
            #expect(held.count == 6, "three listeners, the wake-up pair and the epoll set")
            #expect(held.allSatisfy { $0.identity != nil }, "all of them open")
            #expect(Set(held.map(\.fd)).count == 6)
            let idle = try TestSocket.connect(port: running.port(0))
            let echo = try TestSocket.connect(port: running.port(1))
            #expect(try echo.readLine() == "db-0")
            try idle.send("GET / HTTP/1.1\r\n") // half a request
            usleep(50_000)

            let started = ContinuousClock.now
            #expect(running.stop(within: 2))
            #expect(ContinuousClock.now - started < .milliseconds(500))
            // The server closed its ends of the open connections.
            #expect(try idle.readsEndOfStream())
            #expect(try echo.readsEndOfStream())
            #expect(running.server.boundPorts.count == 3)
        }
        for (fd, identity) in held {
            #expect(DescriptorIdentity(fd) != identity, "descriptor \(fd) is closed (or another file's now)")
        }
    }

    @Test func stopBeforeRunMakesRunReturnAtOnce() throws {
        let server = try AgentServer(listeners: [loopback("web-1", .http)])
        server.stop()
        let started = ContinuousClock.now
        server.run()
        server.run() // a second run returns too
        #expect(ContinuousClock.now - started < .milliseconds(500))
    }

    @Test func idleAndSlowClientsTimeOut() throws {
        let limits = AgentLimits(idleTimeout: .milliseconds(300))
        try withServer([loopback("web-1", .http), loopback("db-0", .tcp)], limits: limits) { server in
            let idle = try TestSocket.connect(port: server.port(0))
            let echo = try TestSocket.connect(port: server.port(1))
            #expect(try echo.readLine() == "db-0")
            let started = ContinuousClock.now
            #expect(try idle.readsEndOfStream())
            #expect(try echo.readsEndOfStream())
            #expect(ContinuousClock.now - started < .seconds(2))

            // A client trickling a byte every 50 ms never completes its head and is cut off
            // although it is never idle for long.
            let slow = try TestSocket.connect(port: server.port(0))
            let trickleStart = ContinuousClock.now
            var closed = false
            for byte in "GET / HTTP/1.1\r\nX-Slow: " + String(repeating: "a", count: 100) {
                if (try? slow.send(String(byte))) == nil { closed = true; break }
                usleep(50_000)
                var probe = pollfd(fd: slow.fd, events: Int16(POLLIN), revents: 0)
                if poll(&probe, 1, 0) > 0 { closed = true; break }
            }
            #expect(closed)
            #expect(ContinuousClock.now - trickleStart < .seconds(2))

            // A client that keeps the connection busy with whole requests is not cut off.
            let busy = try TestSocket.connect(port: server.port(0))
            for index in 0..<8 {
                try busy.send("GET /echo?msg=\(index) HTTP/1.1\r\n\r\n")
                #expect(try busy.readResponse().body == "\(index)")
                usleep(100_000)
            }
        }
    }

    @Test func connectionsBeyondTheLimitAreClosedAtOnce() throws {
        try withServer([loopback("web-1", .http)], limits: AgentLimits(maxConnections: 2)) { server in
            let first = try TestSocket.connect(port: server.port())
            let second = try TestSocket.connect(port: server.port())
            try first.send("GET / HTTP/1.1\r\n\r\n")
            _ = try first.readResponse()
            try second.send("GET / HTTP/1.1\r\n\r\n")
            _ = try second.readResponse()
            let third = try TestSocket.connect(port: server.port())
            #expect(try third.readsEndOfStream())
            try first.send("GET /healthz HTTP/1.1\r\n\r\n")
            #expect(try first.readResponse().body == "ok", "the connections within the limit still work")
        }
    }
}

extension AgentServerTests {
    /// A thousand listeners (a 1,000-pod lab) in one server on one thread.
    @Test func aThousandListeners() throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        try #require(limit.rlim_max >= 2048, "the descriptor limit is too low for this test")
        if limit.rlim_cur < 2048 {
            limit.rlim_cur = 2048
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        let listeners = (0..<1000).map { loopback("pod-\($0)", $0 % 2 == 0 ? .tcp : .udp) }
        try withServer(listeners) { server in
            let udp = try TestSocket.udp()
            for index in 0..<1000 {
                let answer: String?
                if index % 2 == 0 {
                    answer = try TestSocket.connect(port: server.port(index)).readLine()
                } else {
                    try udp.sendDatagram("?", port: server.port(index))
                    answer = try udp.receiveDatagram().split(separator: " ").first.map(String.init)
                }
                #expect(answer == "pod-\(index)")
            }
        }
    }
}
