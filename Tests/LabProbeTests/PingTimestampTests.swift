import Foundation
import Glibc
import LabAddress
import LabSpec
import Testing
@testable import LabProbe

/// Ping round trips come from the kernel's receive stamp (`SO_TIMESTAMPNS`), so a reply that
/// waits in the socket while the event loop is busy elsewhere does not look slow.
@Suite struct PingTimestampTests {
    @Test func theTimestampControlMessageIsFound() {
        // Two control messages, the timestamp second, laid out as the kernel lays them out.
        var bytes: [UInt8] = []
        func header(length: Int, level: Int32, type: Int32) {
            withUnsafeBytes(of: length) { bytes += $0 }
            withUnsafeBytes(of: level) { bytes += $0 }
            withUnsafeBytes(of: type) { bytes += $0 }
        }
        header(length: 16 + 4, level: 0, type: 8)           // an IP_TTL-like message, padded
        bytes += [64, 0, 0, 0, 0, 0, 0, 0]
        var time = timespec(tv_sec: 1_700_000_000, tv_nsec: 123_456_789)
        header(length: 16 + MemoryLayout<timespec>.size, level: SOL_SOCKET, type: ProbeSocket.timestampOption)
        withUnsafeBytes(of: &time) { bytes += $0 }
        let stamp = ProbeSocket.timestamp(in: bytes[...])
        #expect(stamp?.nanoseconds == 1_700_000_000_123_456_789)
        #expect(ProbeSocket.timestamp(in: bytes.prefix(24)) == nil, "a truncated buffer has none")
    }

    @Test(.enabled(if: getuid() == 0, "raw ICMP sockets need root"))
    func aReplyReadLateStillHasItsRealRoundTrip() throws {
        // Loopback of the test's own namespace: nothing leaves the machine.
        guard case .socket(let fd) = ProbeSocket.open([.icmp])[0] else { Issue.record("no raw socket"); return }
        // The first socket to ask for timestamps switches them on from a kernel work item
        // (net_enable_timestamp); until it has run, a packet is stamped when it is read.
        usleep(100_000)
        let ping = PingConversation(socket: ProbeDescriptor(fd), endpoint: ProbeEndpoint(address: IPv4Address(127, 0, 0, 1)),
                                    count: 1, interval: 1_000_000_000, timeout: 2_000_000_000, identifier: 0x4c41, token: 42)
        _ = ping.start(now: ProbeInstant.now())
        usleep(80_000)   // the loop is busy for 80 ms; the reply arrived long before
        guard case .finished(let observation) = ping.advance(revents: PollEvent.readable, now: ProbeInstant.now()) else {
            Issue.record("the ping did not finish")
            return
        }
        let rtt = try #require(observation.rttMilliseconds?.first)
        #expect(rtt < 20, "the round trip on loopback was \(rtt) ms; the 80 ms wait must not count")
    }
}
