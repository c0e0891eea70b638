import Glibc
import Testing
@testable import LabAgent

struct AgentResponsesTests {
    func get(_ target: String, method: String = "GET") throws -> HTTPResponse {
        let head = "\(method) \(target) HTTP/1.1\r\n\r\n"
        var parser = HTTPRequestParser(maxHeadBytes: 1024)
        guard case .request(let request, _) = parser.parse(Array(head.utf8)) else {
            throw TestFailure("not parsed: \(head)")
        }
        return AgentResponses.http(request, pod: "web-1", peer: "10.0.0.9:41234")
    }

    func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    @Test(arguments: [
        ("/", "web-1"), ("/hostname", "web-1"), ("/clientip", "10.0.0.9:41234"), ("/healthz", "ok"),
        ("/echo?msg=hello", "hello"), ("/echo?msg=a+b%21%2F", "a b!/"), ("/echo?x=1&msg=%E2%9C%93&msg=no", "✓"),
        ("/echo?m%73g=encoded-name", "encoded-name"), ("/echo", ""), ("/echo?msg", ""), ("/health%7A", "ok"),
    ])
    func pathsAnswerLikeNetexec(_ target: String, _ body: String) throws {
        let response = try get(target)
        #expect(response.status == .ok)
        #expect(text(response) == body)
    }

    @Test func echoKeepsBytesThatAreNotUTF8() throws {
        #expect(try get("/echo?msg=%FF%00").body == [0xFF, 0x00])
    }

    @Test(arguments: ["/nope", "/hostname/", "/echo/", "/HOSTNAME", "/hostname%2F"])
    func unknownPathsAre404(_ target: String) throws {
        let response = try get(target)
        #expect(response.status == .notFound)
        #expect(text(response) == "404 page not found\n")
    }

    @Test func malformedEncodingIs400() throws {
        #expect(try get("/echo?msg=%zz").status == .badRequest)
        #expect(try get("/echo?msg=%4").status == .badRequest)
        #expect(try get("/health%7").status == .badRequest)
    }

    @Test(arguments: ["POST", "PUT", "DELETE", "OPTIONS", "get"])
    func otherMethodsAre405(_ method: String) throws {
        let response = try get("/", method: method)
        #expect(response.status == .methodNotAllowed)
        #expect(response.extraHeaders == ["Allow: GET, HEAD"])
    }

    @Test func headIsRoutedLikeGetAndSentWithoutBody() throws {
        let response = try get("/hostname", method: "HEAD")
        #expect(response == (try get("/hostname")))
        let wire = String(decoding: response.serialized(includeBody: false, persistence: .keepAlive), as: UTF8.self)
        #expect(wire == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n\r\n")
    }

    @Test func serializedResponses() {
        let ok = HTTPResponse(status: .ok, text: "web-1")
        #expect(String(decoding: ok.serialized(includeBody: true, persistence: .keepAlive), as: UTF8.self)
            == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n\r\nweb-1")
        let closing = AgentResponses.rejection(.headerFieldsTooLarge, reason: "too big")
        #expect(String(decoding: closing.serialized(includeBody: true, persistence: .close), as: UTF8.self)
            == "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: 45\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large: too big\n")
        let http10 = String(decoding: ok.serialized(includeBody: true, persistence: .keepAliveHTTP10), as: UTF8.self)
        #expect(http10.contains("\r\nConnection: keep-alive\r\n"))
    }

    @Test func persistenceFollowsTheRequest() throws {
        func persistence(_ head: String) throws -> HTTPResponse.Persistence {
            var parser = HTTPRequestParser(maxHeadBytes: 1024)
            guard case .request(let request, _) = parser.parse(Array(head.utf8)) else { throw TestFailure(head) }
            return AgentResponses.persistence(after: request)
        }
        #expect(try persistence("GET / HTTP/1.1\r\n\r\n") == .keepAlive)
        #expect(try persistence("GET / HTTP/1.1\r\nConnection: close\r\n\r\n") == .close)
        #expect(try persistence("GET / HTTP/1.0\r\n\r\n") == .close)
        #expect(try persistence("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == .keepAliveHTTP10)
        #expect(try persistence("GET / HTTP/1.1\r\nContent-Length: 2\r\n\r\n") == .close)
    }

    @Test func tcpAndUDPTexts() {
        #expect(AgentResponses.tcpGreeting(pod: "db-0") == Array("db-0\n".utf8))
        #expect(AgentResponses.udpReply(pod: "db-0", peer: "10.1.0.7:5353") == Array("db-0 10.1.0.7:5353".utf8))
        #expect(AgentResponses.udpReply(pod: "db-0", peer: "[fd00::7]:5353") == Array("db-0 [fd00::7]:5353".utf8))
    }

    @Test func percentDecoding() {
        #expect(PercentDecoding.decode("a%20b+c", plusIsSpace: true) == Array("a b c".utf8))
        #expect(PercentDecoding.decode("a%20b+c", plusIsSpace: false) == Array("a b+c".utf8))
        #expect(PercentDecoding.decode("%e2%9C%93", plusIsSpace: false) == Array("✓".utf8))
        #expect(PercentDecoding.decode("100%", plusIsSpace: false) == nil)
        #expect(PercentDecoding.decode("%g0", plusIsSpace: false) == nil)
        #expect(PercentDecoding.value(of: "msg", inQuery: "a=%zz&msg=ok") == .found(Array("ok".utf8)))
        #expect(PercentDecoding.value(of: "msg", inQuery: "message=x") == .absent)
        #expect(PercentDecoding.value(of: "msg", inQuery: "msg=%zz") == .malformed)
    }

    @Test func socketAddressesPrintLikeGo() throws {
        #expect(SocketAddress(ip: "10.0.0.5", port: 41234)?.description == "10.0.0.5:41234")
        #expect(SocketAddress(ip: "fd00:0:0::5", port: 80)?.description == "[fd00::5]:80")
        #expect(SocketAddress(ip: "::1", port: 0)?.description == "[::1]:0")
        #expect(SocketAddress(ip: "10.0.0.256", port: 80) == nil)
        #expect(SocketAddress(ip: "web-1", port: 80) == nil)
        #expect(SocketAddress(ip: "10.0.0.1", port: 65536) == nil)
    }

    @Test func errorsNamePodProtocolPortAndErrno() {
        let error = AgentError(listener: AgentListener(pod: "web-1", protocol: .http, port: 8080),
                               operation: "bind", errno: EADDRINUSE)
        #expect(error.errnoName == "EADDRINUSE")
        #expect(error.description == "bind http 0.0.0.0:8080 of pod \"web-1\": Address already in use (EADDRINUSE)")
        let v6 = AgentError(listener: AgentListener(pod: "db", protocol: .udp, port: 53, address: "::"),
                            operation: "bind", errno: EACCES)
        #expect(v6.description.hasPrefix("bind udp [::]:53 of pod \"db\": "))
    }
}
