import Foundation
import LabAddress
@testable import LabKernel
import Testing

/// The delay line's messages, byte for byte: pure, so they run without root too.
@Suite struct NFQueueMessageTests {
    @Test func verdictAndConfigMessagesAreLaidOutAsTheKernelReadsThem() {
        // Two verdicts in one datagram, one after the other: NF_ACCEPT for ids 9 and 0x01020304.
        let verdicts = NFQueueDelayLine.verdicts(ids: [9, 0x0102_0304], queue: 3)
        #expect(verdicts.count == 64)
        #expect(Array(verdicts[0..<32]) == [32, 0, 0, 0, 0x01, 0x03, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                            0, 0, 0, 3,
                                            12, 0, 2, 0, 0, 0, 0, 1, 0, 0, 0, 9])
        #expect(Array(verdicts[32..<64]) == Array(verdicts[0..<28]) + [1, 2, 3, 4])
        // The 5-byte `nfqnl_msg_config_params` is padded to 8; a configuration asks for an ack.
        let parameters = NFQueueDelayLine.request(NFQueueDelayLine.messageConfig, queue: 0)
        parameters.put(NFQueueDelayLine.configParameters, bytes: [0, 0, 0, 0, 1])
        #expect(parameters.bytes.count == 16 + 4 + 12)
        #expect(Array(parameters.bytes[4..<8]) == [0x02, 0x03, 5, 0])
        #expect(Array(parameters.bytes[20..<22]) == [9, 0])
    }

    @Test func packetIDIsReadFromThePacketHeader() {
        // nlmsghdr, nfgenmsg, then NFQA_PACKET_HDR {be32 id 0x01020304, be16 0x0800, u8 hook 4} padded.
        let message: [UInt8] = [32, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                2, 0, 0, 3, 11, 0, 1, 0, 1, 2, 3, 4, 8, 0, 4, 0]
        #expect(NFQueueDelayLine.packetID(NetlinkMessage(bytes: message)) == 0x0102_0304)
        // A message without the header has no id.
        #expect(NFQueueDelayLine.packetID(NetlinkMessage(bytes: [20] + Array(message[1..<20]))) == nil)
    }
}

/// The NFQUEUE delay line for kernels without netem, measured with ping in throwaway namespaces.
@Suite(.enabled(if: isRoot, "needs root"), .serialized) struct NFQueueDelayLineTests {

    /// 20 ms on one direction: a ping's request waits, its reply does not. Measured at 50
    /// and at 1,000 packets per second.
    @Test(arguments: [(count: 50, interval: "0.02", preload: "1"), (count: 1000, interval: "0.001", preload: "40")])
    func pingIsDelayedByTheDelay(count: Int, interval: String, preload: String) throws {
        try withTestNamespaces("a", "b") { namespaces in
            let (a, b) = (namespaces[0], namespaces[1])
            let socket = try RouteSocket(in: a)
            try socket.submit(.addVeth(name: "veth-a", mac: nil, mtu: 1500, peerName: "veth-b", peerMAC: nil, peerNetns: b, up: true))
            try RouteSocket(in: b).submit(.setUp(link: "veth-b"))
            try socket.submit(.addAddress(link: "veth-a", address: IPv4Address("10.0.0.1")!, prefixLength: 30))
            try RouteSocket(in: b).submit(.addAddress(link: "veth-b", address: IPv4Address("10.0.0.2")!, prefixLength: 30))
            #expect(try ping(from: a, "10.0.0.2"))
            // On b's ingress: a packet held there is no longer charged to the sender's socket
            // (a veth orphans what it forwards), whereas one held on a's egress counts against
            // ping's small send buffer and stalls it at 1,000 packets/s.
            let rule = try run("ip", "netns", "exec", b.name, "iptables", "-t", "mangle", "-A", "PREROUTING", "-i", "veth-b",
                               "-j", "NFQUEUE", "--queue-num", "3", "--queue-bypass")
            try #require(rule.status == 0, "\(rule.output)")
            // Up to three tries: with the whole suite running in parallel on two cores, the
            // serving thread can be starved for milliseconds; a try it is not shows the delay.
            var measured = 0.0, lossLine = "", output = ""
            for _ in 0..<3 {
                let line = try NFQueueDelayLine(in: b, queue: 3, delayMicroseconds: 20_000)
                let seconds = Double(count) * Double(interval)! + 3
                let thread = Thread { line.serve(seconds: seconds) }
                thread.start()
                defer { while !thread.isFinished { usleep(50_000) } }
                // `-l 40` at 1,000/s: ping otherwise waits for replies once a few are
                // outstanding, which a 20 ms delay at that rate always makes 20 of.
                let result = try run("ip", "netns", "exec", a.name, "ping", "-q", "-l", preload, "-c", String(count), "-i", interval, "-W", "1", "10.0.0.2")
                output = result.output
                let summary = result.output.split(separator: "\n").first { $0.contains("min/avg/max") } ?? ""
                let values = summary.split(separator: "=").last?.trimmingCharacters(in: .whitespaces).split(separator: "/") ?? []
                measured = try #require(values.count > 1 ? Double(values[1]) : nil, "\(result.output)")
                lossLine = String(result.output.split(separator: "\n").first { $0.contains("packets transmitted") } ?? "")
                print("nfqueue delay line at \(count) pings every \(interval) s: \(summary); \(lossLine)")
                if lossLine.contains(" 0% packet loss"), abs(measured - 20) <= 2 { break }
            }
            #expect(lossLine.contains(" 0% packet loss"), "\(output)")
            #expect(abs(measured - 20) <= 2, "rtt \(measured) ms for a 20 ms delay")
        }
    }
}
