@testable import LabProbe
import Testing

/// The bytes probes put on the wire and read back, without a socket.
struct ICMPEchoTests {
    @Test func requestLayoutAndChecksum() {
        let request = ICMPEcho.request(identifier: 0x1234, sequence: 2, token: 0x0102_0304_0506_0708)
        #expect(request.count == 16)
        #expect(Array(request[0..<2]) == [8, 0])
        #expect(Array(request[4..<8]) == [0x12, 0x34, 0x00, 0x02])
        #expect(Array(request[8..<16]) == [1, 2, 3, 4, 5, 6, 7, 8])
        // A message with its checksum in place sums to zero.
        #expect(ICMPEcho.checksum(request) == 0)
    }

    @Test func checksumOfRFC1071Example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement.
        #expect(ICMPEcho.checksum([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]) == ~UInt16(0xddf2))
        // An odd length pads with a zero byte.
        #expect(ICMPEcho.checksum([0x01]) == ~UInt16(0x0100))
    }

    /// What the kernel hands a raw socket: an IPv4 header (here with 4 bytes of options), then
    /// the reply — the request with type 0.
    func packet(type: UInt8, headerWords: UInt8 = 6, protocolNumber: UInt8 = 1) -> [UInt8] {
        var message = ICMPEcho.request(identifier: 7, sequence: 9, token: 42)
        message[0] = type
        var header = [UInt8](repeating: 0, count: Int(headerWords) * 4)
        header[0] = 0x40 | headerWords
        header[9] = protocolNumber
        return header + message
    }

    @Test func replyIsFoundBehindTheIPHeader() {
        #expect(ICMPEcho.reply(inPacket: packet(type: 0)[...]) == ICMPEcho.Reply(identifier: 7, sequence: 9, token: 42))
    }

    @Test func anythingElseIsNotAReply() {
        #expect(ICMPEcho.reply(inPacket: packet(type: 8)[...]) == nil)
        #expect(ICMPEcho.reply(inPacket: packet(type: 3)[...]) == nil)
        #expect(ICMPEcho.reply(inPacket: packet(type: 0, protocolNumber: 6)[...]) == nil)
        #expect(ICMPEcho.reply(inPacket: packet(type: 0).dropLast()) == nil)
        #expect(ICMPEcho.reply(inPacket: [][...]) == nil)
    }
}

struct HTTPReplyParserTests {
    func parse(_ text: String, atEnd: Bool = false, bodyless: Bool = false) -> ProbeHTTPReply.Parse {
        ProbeHTTPReply.parse(Array(text.utf8), atEnd: atEnd, bodyless: bodyless)
    }

    func reply(_ status: Int, _ body: String) -> ProbeHTTPReply.Parse {
        .complete(ProbeHTTPReply(status: status, body: Array(body.utf8)))
    }

    @Test func contentLengthEndsTheBodyWithoutWaitingForClose() {
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nweb-1") == reply(200, "web-1"))
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nweb") == .incomplete)
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nweb", atEnd: true) == .malformed("the body was cut short: 3 of 5 bytes"))
        #expect(parse("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA") == reply(200, "ok"))
    }

    @Test func chunkedBodiesAreDecoded() {
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nweb-1\r\n3\r\n ok\r\n0\r\n\r\n"
        #expect(parse(chunked) == reply(200, "web-1 ok"))
        #expect(parse(String(chunked.dropLast(12))) == .incomplete)
        #expect(parse(String(chunked.dropLast(12)), atEnd: true) == .malformed("the chunked body was cut short"))
        #expect(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") == .malformed("bad chunk size \"zz\""))
    }

    @Test func withoutLengthTheBodyEndsWithTheConnection() {
        #expect(parse("HTTP/1.0 200 OK\r\n\r\nhello") == .incomplete)
        #expect(parse("HTTP/1.0 200 OK\r\n\r\nhello", atEnd: true) == reply(200, "hello"))
        #expect(parse("HTTP/1.1 404 Not Found\nServer: x\n\nbare LF", atEnd: true) == reply(404, "bare LF"))
    }

    @Test func responsesWithoutBody() {
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", bodyless: true) == reply(200, ""))
        #expect(parse("HTTP/1.1 204 No Content\r\n\r\n") == reply(204, ""))
        #expect(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok") == reply(201, "ok"))
    }

    @Test func notHTTPIsSaidAtOnce() {
        #expect(parse("SSH-2.0-OpenSSH_9.6\r\n") == .malformed("not an HTTP response: \"SSH-2.0-OpenSSH_9.6\\r\\n\""))
        #expect(parse("HTTP/1.1 abc\r\n\r\n") == .malformed("bad status line \"HTTP/1.1 abc\""))
        #expect(parse("", atEnd: true) == .malformed("the server closed the connection without answering"))
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Le", atEnd: true) == .malformed("the connection closed inside the response head"))
        #expect(parse("HTT") == .incomplete)
    }

    @Test func requestBytes() {
        let request = HTTPConversation.request(method: "GET", path: "/hostname", endpoint: ProbeEndpoint(address: loopback, port: 8080))
        #expect(String(decoding: request, as: UTF8.self)
            == "GET /hostname HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: lab-verify\r\nAccept: */*\r\nConnection: close\r\n\r\n")
        let port80 = HTTPConversation.request(method: "HEAD", path: "/", endpoint: ProbeEndpoint(address: loopback, port: 80))
        #expect(String(decoding: port80, as: UTF8.self).hasPrefix("HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n"))
    }
}
