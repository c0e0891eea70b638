import Testing
@testable import LabAgent

struct HTTPRequestParserTests {
    func parse(_ text: String, maxHeadBytes: Int = 16 * 1024) -> HTTPRequestParser.Outcome {
        var parser = HTTPRequestParser(maxHeadBytes: maxHeadBytes)
        return parser.parse(Array(text.utf8))
    }

    func rejection(_ text: String) -> HTTPStatus? {
        if case .rejected(let status, _) = parse(text) { return status }
        return nil
    }

    @Test func parsesARequestHead() throws {
        let text = "GET /echo?msg=hi HTTP/1.1\r\nHost: 10.0.0.5:8080\r\nUser-Agent: curl/8\r\n\r\n"
        guard case .request(let request, let length) = parse(text) else {
            Issue.record("not parsed: \(parse(text))")
            return
        }
        #expect(length == text.utf8.count)
        #expect(request.method == "GET")
        #expect(request.target == "/echo?msg=hi")
        #expect(request.path == "/echo")
        #expect(request.query == "msg=hi")
        #expect(request.version == .http11)
        #expect(request.headers.map(\.name) == ["Host", "User-Agent"])
        #expect(request.header("host") == "10.0.0.5:8080")
        #expect(request.keepAlive)
        #expect(!request.hasBody)
    }

    /// Whatever way the bytes are split across reads, the head is incomplete until its last
    /// byte and then parsed whole; a second, pipelined request is not swallowed.
    @Test func requestSplitAcrossReads() {
        let first = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let second = Array("GET /healthz HTTP/1.1\r\n\r\n".utf8)
        var parser = HTTPRequestParser(maxHeadBytes: 1024)
        var input: [UInt8] = []
        for byte in first.dropLast() {
            input.append(byte)
            #expect(parser.parse(input) == .incomplete, "after \(input.count) bytes")
        }
        input.append(first.last!)
        input += second.prefix(5)
        guard case .request(let request, let length) = parser.parse(input) else {
            Issue.record("first request not parsed")
            return
        }
        #expect(request.path == "/")
        #expect(length == first.count)
        input.removeFirst(length)
        parser.reset()
        #expect(parser.parse(input) == .incomplete)
        input += second.dropFirst(5)
        guard case .request(let next, _) = parser.parse(input) else {
            Issue.record("second request not parsed")
            return
        }
        #expect(next.path == "/healthz")
    }

    @Test func acceptsBareLineFeedsAndLeadingEmptyLines() {
        let text = "\r\n\nGET /hostname HTTP/1.0\nConnection: keep-alive\n\n"
        guard case .request(let request, let length) = parse(text) else {
            Issue.record("not parsed")
            return
        }
        #expect(length == text.utf8.count)
        #expect(request.path == "/hostname")
        #expect(request.version == .http10)
        #expect(request.keepAlive)
    }

    @Test(arguments: [
        "GET /\r\n\r\n",                                   // HTTP/0.9 style, no version
        "GET  / HTTP/1.1\r\n\r\n",                         // two spaces
        "GET / HTTP/1.1 extra\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",                          // not a token
        "GET / HTTP/1.x\r\n\r\n",
        "GET / FTP/1.1\r\n\r\n",
        "GET foo HTTP/1.1\r\n\r\n",                        // not origin or absolute form
        "GET /a\u{7F}b HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",              // space before colon
        "GET / HTTP/1.1\r\nHost: x\r\n Folded: y\r\n\r\n", // obsolete line folding
        "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\u{01}b\r\n\r\n",
        "GET / HTTP/1.1\rX: y\r\n\r\n",                    // bare CR
        "GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    ])
    func badRequestsAre400(_ text: String) {
        #expect(rejection(text) == .badRequest)
    }

    @Test func otherHTTPVersionsAre505() {
        #expect(rejection("GET / HTTP/2.0\r\n\r\n") == .versionNotSupported)
        #expect(rejection("GET / HTTP/0.9\r\n\r\n") == .versionNotSupported)
    }

    @Test func oversizedHeadersAre431EvenBeforeTheirEnd() {
        let line = "GET / HTTP/1.1\r\n"
        let field = "X-Padding: " + String(repeating: "a", count: 100) + "\r\n"
        let unterminated = line + String(repeating: field, count: 200)
        #expect(unterminated.utf8.count > 16 * 1024)
        #expect(rejection(unterminated) == .headerFieldsTooLarge)
        #expect(rejection(unterminated + "\r\n") == .headerFieldsTooLarge)
    }

    @Test func theLimitIsInclusive() {
        let base = "GET / HTTP/1.1\r\nX: \r\n\r\n"
        let exact = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 100 - base.utf8.count) + "\r\n\r\n"
        #expect(exact.utf8.count == 100)
        guard case .request = parse(exact, maxHeadBytes: 100) else {
            Issue.record("a head of exactly the limit was not accepted")
            return
        }
        #expect(parse(exact, maxHeadBytes: 99) == .rejected(.headerFieldsTooLarge, reason: "request head longer than 99 bytes"))
        // Short of the limit and unterminated is simply incomplete.
        #expect(parse(String(exact.dropLast(2)), maxHeadBytes: 100) == .incomplete)
    }

    @Test func anOverlongRequestLineIs414() {
        let text = "GET /" + String(repeating: "a", count: 20_000)
        #expect(rejection(text) == .uriTooLong)
    }

    @Test func connectionPersistence() throws {
        func request(_ text: String) throws -> HTTPRequest {
            guard case .request(let request, _) = parse(text) else { throw TestFailure("not parsed: \(text)") }
            return request
        }
        #expect(try request("GET / HTTP/1.1\r\n\r\n").keepAlive)
        #expect(try !request("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").keepAlive)
        #expect(try !request("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n").keepAlive)
        #expect(try !request("GET / HTTP/1.0\r\n\r\n").keepAlive)
        #expect(try request("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive)
        #expect(try request("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n").hasBody)
        #expect(try !request("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").hasBody)
        #expect(try request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").hasBody)
    }

    @Test func absoluteFormTargets() throws {
        guard case .request(let request, _) = parse("GET http://10.0.0.5:8080/echo?msg=a HTTP/1.1\r\n\r\n") else {
            Issue.record("not parsed")
            return
        }
        #expect(request.path == "/echo")
        #expect(request.query == "msg=a")
        guard case .request(let bare, _) = parse("GET HTTP://example HTTP/1.1\r\n\r\n") else {
            Issue.record("not parsed")
            return
        }
        #expect(bare.path == "/")
        #expect(bare.query == nil)
    }
}
