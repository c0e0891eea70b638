import Foundation
import Glibc
import LabAddress
@testable import LabDNS
@testable import LabProbe
import Testing

/// The lookup conversation against a server that answers with canned bytes: garbage and
/// replies to other queries are skipped, a truncated reply is asked again over TCP, and a TCP
/// reply that arrives in pieces is put together.
@Suite struct DNSCannedReplyTests {
    /// A UDP socket and a TCP listener on one port of 127.0.0.1, answering one query each on a
    /// thread: UDP with `udpReplies(query)` (sent in order), TCP with `tcpReply(query)` in two
    /// writes.
    final class CannedServer: @unchecked Sendable {
        let udp: Int32
        let tcp: Int32
        let port: Int
        private let done = DispatchSemaphore(value: 0)

        /// A UDP port the kernel picks, and TCP on the same number. Another test's connection
        /// may hold that TCP port (the suites run in parallel): then another pick, a few times.
        static func bindBoth() throws -> (udp: Int32, tcp: Int32, port: Int) {
            for _ in 0..<20 {
                let udpFD = socket(AF_INET, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
                let tcpFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_addr.s_addr = loopback.value.bigEndian
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                let bound = withUnsafeMutablePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(udpFD, $0, length) == 0 && getsockname(udpFD, $0, &length) == 0 }
                }
                let tcpBound = bound && withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(tcpFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
                }
                if tcpBound, listen(tcpFD, 4) == 0 { return (udpFD, tcpFD, Int(UInt16(bigEndian: address.sin_port))) }
                let error = errno
                close(udpFD)
                close(tcpFD)
                guard error == EADDRINUSE else { throw TestFailure("canned server: \(String(cString: strerror(error)))") }
            }
            throw TestFailure("canned server: no port free for both UDP and TCP in 20 tries")
        }

        init(udpReplies: @escaping @Sendable (DNSMessage) -> [[UInt8]], tcpReply: @escaping @Sendable (DNSMessage) -> [UInt8]) throws {
            (udp, tcp, port) = try Self.bindBoth()
            let (udp, tcp, done) = (udp, tcp, done)
            Thread {
                var buffer = [UInt8](repeating: 0, count: 4096)
                var peer = sockaddr_storage()
                var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let count = withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(udp, &buffer, buffer.count, 0, $0, &peerLength) }
                }
                if count > 0, let query = try? DNSMessage(decoding: Array(buffer[..<count])) {
                    for reply in udpReplies(query) {
                        _ = withUnsafePointer(to: &peer) {
                            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(udp, reply, reply.count, 0, $0, peerLength) }
                        }
                    }
                }
                let connection = accept(tcp, nil, nil)
                if connection >= 0 {
                    var received: [UInt8] = []
                    while received.count < 2 || received.count < 2 + (Int(received[0]) << 8 | Int(received[1])) {
                        let got = recv(connection, &buffer, buffer.count, 0)
                        if got <= 0 { break }
                        received += buffer[..<got]
                    }
                    if received.count > 2, let query = try? DNSMessage(decoding: Array(received[2...])) {
                        let reply = tcpReply(query)
                        let framed = [UInt8(reply.count >> 8), UInt8(reply.count & 0xff)] + reply
                        let half = framed.count / 2
                        _ = send(connection, Array(framed[..<half]), half, Int32(MSG_NOSIGNAL))
                        usleep(20_000)
                        _ = send(connection, Array(framed[half...]), framed.count - half, Int32(MSG_NOSIGNAL))
                    }
                    close(connection)
                }
                done.signal()
            }.start()
        }

        func finish() {
            // Wakes the thread if no TCP connection ever came.
            shutdown(tcp, Int32(SHUT_RDWR))
            done.wait()
            close(udp)
            close(tcp)
        }
    }

    static func reply(to query: DNSMessage, id: UInt16? = nil, truncated: Bool = false, answers: [DNSRecord] = []) -> [UInt8] {
        var header = DNSHeader(id: id ?? query.header.id, isResponse: true, authoritative: true, truncated: truncated, recursionDesired: true)
        header.rcode = 0
        return DNSMessage(header: header, questions: query.questions, answers: answers).encoded()
    }

    @Test func garbageAndOtherRepliesAreSkippedAndTruncationGoesToTCP() throws {
        let addresses: [[UInt8]] = (1...3).map { [10, 244, 0, UInt8($0)] }
        let server = try CannedServer(
            udpReplies: { query in
                [[0xde, 0xad, 0xbe, 0xef], Self.reply(to: query, id: query.header.id &+ 1, answers: [
                    DNSRecord(name: query.questions[0].name, ttl: 30, data: .a([6, 6, 6, 6])),
                 ]), Self.reply(to: query, truncated: true)]
            },
            tcpReply: { query in
                Self.reply(to: query, answers: addresses.map { DNSRecord(name: query.questions[0].name, ttl: 30, data: .a($0)) })
            })
        defer { server.finish() }
        let lookup = NameLookup(name: "db.x.svc.cluster.local.", resolver: DNSProbeTests.resolver,
                                server: ProbeEndpoint(address: loopback, port: server.port))
        let task = ProbeTask(name: "db", from: "here", to: "db", endpoint: lookup.server, action: .dns(name: lookup.name, type: .a),
                             expectation: .init(answers: ["10.244.0.1", "10.244.0.2", "10.244.0.3"]), retries: 0, lookup: lookup)
        let result = probe(task)
        #expect(result.passed, "\(result.explanation ?? "")")
        #expect(result.tries.first?.lookup?.overTCP == true)
        #expect(result.observed.hasPrefix("NOERROR 10.244.0.1, 10.244.0.2, 10.244.0.3 (db.x.svc.cluster.local.) over TCP"), "\(result.observed)")
    }
}
