@testable import LabKernel
import Testing

/// Root qdisc requests against the bytes `tc` sends for the same settings (`TCCapture`).
@Suite struct QdiscRequestTests {
    /// From the message type on: the length is compared on its own, the sequence number and
    /// port id are the sender's.
    static func comparable(_ bytes: [UInt8]) -> [UInt8] {
        Array(bytes[4..<8]) + Array(bytes[16...])
    }

    /// `tc`'s message without the `TCA_TBF_RTAB` rate table, which the kernel ignores for an
    /// Ethernet rate spec and lab therefore does not send: the attribute cut out of
    /// `TCA_OPTIONS` and the lengths of the nest and the message shortened by as much.
    static func withoutRateTable(_ message: [UInt8]) -> [UInt8] {
        func u16(_ offset: Int) -> Int { Int(message[offset]) | Int(message[offset + 1]) << 8 }
        var offset = 36  // nlmsghdr + tcmsg
        while offset < message.count {
            let length = u16(offset), type = u16(offset + 2) & 0x3fff
            if type == 2 {  // TCA_OPTIONS
                var inner = offset + 4
                while inner < offset + length {
                    let innerLength = u16(inner), innerType = u16(inner + 2)
                    let padded = (innerLength + 3) & ~3
                    if innerType == 2 {  // TCA_TBF_RTAB
                        var result = Array(message[..<inner]) + Array(message[(inner + padded)...])
                        let total = message.count - padded, nest = length - padded
                        result.replaceSubrange(0..<4, with: withUnsafeBytes(of: UInt32(total).littleEndian, Array.init))
                        result.replaceSubrange(offset..<offset + 2, with: withUnsafeBytes(of: UInt16(nest).littleEndian, Array.init))
                        return result
                    }
                    inner += padded
                }
            }
            offset += (length + 3) & ~3
        }
        Issue.record("no rate table in the capture")
        return message
    }

    @Test func netemDelayIsWhatTCSends() {
        let request = NetlinkRequest.replaceNetem(linkIndex: 1, limit: 1000, delayMicroseconds: 20_000, jitterMicroseconds: 0,
                                                  loss: 0, rateBytesPerSecond: nil)
        let tc = TCCapture.bytes(TCCapture.netemDelay20ms)
        #expect(request.length == tc.count)
        #expect(Self.comparable(request.bytes) == Self.comparable(tc))
    }

    @Test func netemDelayJitterLossAndRateAreWhatTCSends() {
        let request = NetlinkRequest.replaceNetem(linkIndex: 1, limit: 1000, delayMicroseconds: 20_000, jitterMicroseconds: 5_000,
                                                  loss: 0.01, rateBytesPerSecond: 1_250_000)
        let tc = TCCapture.bytes(TCCapture.netemDelayJitterLossRate)
        #expect(request.length == tc.count)
        #expect(Self.comparable(request.bytes) == Self.comparable(tc))
    }

    @Test func tokenBucketIsWhatTCSendsLessTheRateTable() {
        // `latency 50ms` is tc's way of asking for limit = rate × 50 ms + burst = 75,000.
        let request = NetlinkRequest.replaceTokenBucket(linkIndex: 1, rateBytesPerSecond: 1_250_000, burstBytes: 12_500,
                                                        limitBytes: 75_000)
        let tc = Self.withoutRateTable(TCCapture.bytes(TCCapture.tbf10mbit))
        #expect(request.length == tc.count)
        #expect(Self.comparable(request.bytes) == Self.comparable(tc))
    }

    @Test func tokenBucketAbove32BitsSendsTheRateIn64Bits() {
        // 40 gbit = 5e9 bytes/s: the spec's u32 rate saturates and TCA_TBF_RATE64 carries it.
        let request = NetlinkRequest.replaceTokenBucket(linkIndex: 1, rateBytesPerSecond: 5_000_000_000, burstBytes: 50_000_000,
                                                        limitBytes: 300_000_000)
        let tc = Self.withoutRateTable(TCCapture.bytes(TCCapture.tbf40gbit))
        #expect(request.length == tc.count)
        #expect(Self.comparable(request.bytes) == Self.comparable(tc))
    }

    @Test func deleteRootQdiscNamesOnlyTheLinkAndTheRoot() {
        let bytes = NetlinkRequest.deleteRootQdisc(linkIndex: 7).bytes
        #expect(bytes.count == 36)
        #expect(bytes[4..<6] == [37, 0])  // RTM_DELQDISC
        #expect(bytes[20..<24] == [7, 0, 0, 0])
        #expect(bytes[28..<32] == [0xff, 0xff, 0xff, 0xff])
    }

    @Test func ticksTruncateAsTCDoes() {
        #expect(NetlinkRequest.timeTicks(microseconds: 20_000) == 312_500)
        #expect(NetlinkRequest.transmitTicks(bytes: 12_500, rateBytesPerSecond: 1_250_000) == 156_250)
    }
}
