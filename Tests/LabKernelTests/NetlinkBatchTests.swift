import Glibc
import LabAddress
@testable import LabKernel
import Testing

/// Several requests in one datagram, and the kernel's answers mapped back to them, on bytes
/// laid out by hand.
@Suite struct NetlinkBatchTests {
    typealias N = ExpectedNetlink

    static let error: UInt16 = 2
    /// `NLM_F_CAPPED` 0x100 | `NLM_F_ACK_TLVS` 0x200, as the kernel sets them on an error
    /// answer to a socket with `NETLINK_CAP_ACK` and extended acks.
    static let cappedWithAttributes: UInt16 = 0x300

    /// An `NLMSG_ERROR` answer: `nlmsgerr` (the error, then the request's header when capped)
    /// and, when `message` is given, `NLMSGERR_ATTR_MSG` (1).
    static func answer(sequence: Int, errno: Int32, message: String? = nil) -> [UInt8] {
        let requestHeader = N.le32(16) + N.le16(Int(N.newLink)) + N.le16(0) + N.le32(sequence) + N.le32(0)
        var body = N.le32(Int(UInt32(bitPattern: -errno))) + requestHeader
        if let message { body += N.string(1, message) }
        return N.message(type: error, flags: message == nil ? 0 : cappedWithAttributes, sequence: sequence, body: body)
    }

    /// The changes' requests, with the link indexes `indexes` gives, in one batch.
    static func batch(_ changes: [RouteChange], indexes: [String: Int32] = [:]) -> NetlinkBatch {
        var batch = NetlinkBatch()
        for change in changes { batch.append(change.prepared(indexes: change.links.map { indexes[$0]! })) }
        return batch
    }

    @Test func requestsLieEndToEndWithTheirOwnSequenceAndOnlyTheLastAsksForAnAck() {
        let batch = Self.batch([.setUp(link: "eth0"), .setMaster(link: "veth0", master: "cni0"), .setUp(link: "lo")], indexes: ["cni0": 12])
        let expected =
            N.message(type: N.newLink, flags: N.request, sequence: 100, body: N.ifinfomsg(flags: 1, change: 1) + N.string(3, "eth0"))
            + N.message(type: N.newLink, flags: N.request, sequence: 101, body: N.ifinfomsg() + N.string(3, "veth0") + N.u32(10, 12))
            + N.message(type: N.newLink, flags: N.request | N.ack, sequence: 102, body: N.ifinfomsg(flags: 1, change: 1) + N.string(3, "lo"))
        #expect(batch.encode(firstSequence: 100) == expected)
        #expect(batch.byteCount == expected.count)
    }

    @Test func encodingLeavesTheQueuedRequestsAsTheyWere() {
        let change = RouteChange.setUp(link: "eth0").prepared(indexes: [])
        let before = change.request.bytes
        var batch = NetlinkBatch()
        batch.append(change)
        batch.append(RouteChange.setUp(link: "lo").prepared(indexes: []))
        _ = batch.encode(firstSequence: 7)
        #expect(change.request.bytes == before)
    }

    @Test func sequenceNumbersWrapAround() {
        let datagram = Self.batch([.setUp(link: "a"), .setUp(link: "b")]).encode(firstSequence: UInt32.max)
        let second = datagram.count / 2
        #expect(Array(datagram[8..<12]) == [0xff, 0xff, 0xff, 0xff])
        #expect(Array(datagram[second + 8..<second + 12]) == [0, 0, 0, 0])
    }

    @Test func aBatchIsBoundedInMessagesAndBytes() {
        var batch = NetlinkBatch()
        let up = RouteChange.setUp(link: "eth0").prepared(indexes: [])
        while batch.hasRoom(for: up) { batch.append(up) }
        #expect(batch.count == NetlinkBatch.maximumCount)
        var big = NetlinkBatch()
        let veth = RouteChange.setHairpin(link: String(repeating: "x", count: 15), on: true).prepared(indexes: [])
        while big.hasRoom(for: veth) { big.append(veth) }
        #expect(big.byteCount <= NetlinkBatch.maximumBytes)
    }

    @Test func theLastAckEndsASuccessfulBatch() {
        var reply = NetlinkBatchReply(firstSequence: 100, count: 3)
        let last = Self.answer(sequence: 102, errno: 0)
        last.withUnsafeBytes { reply.receive($0) }
        #expect(reply.finished)
        #expect(reply.firstFailure == nil)
    }

    @Test func anErrorInTheMiddleIsMappedToItsRequestWithTheKernelsWords() throws {
        var reply = NetlinkBatchReply(firstSequence: 100, count: 3)
        Self.answer(sequence: 101, errno: EEXIST, message: "Device already exists").withUnsafeBytes { reply.receive($0) }
        #expect(!reply.finished)
        Self.answer(sequence: 102, errno: 0).withUnsafeBytes { reply.receive($0) }
        #expect(reply.finished)
        let failure = try #require(reply.firstFailure)
        #expect(failure.index == 1)
        #expect(failure.ack == NetlinkAck(sequence: 101, errno: EEXIST, message: "Device already exists"))
    }

    @Test func theEarliestFailureWinsWhateverTheOrderOfArrival() throws {
        var reply = NetlinkBatchReply(firstSequence: 10, count: 4)
        // Several answers in one datagram, as a receive buffer may hold them.
        let datagram = Self.answer(sequence: 12, errno: ENODEV) + Self.answer(sequence: 11, errno: EINVAL)
            + Self.answer(sequence: 13, errno: ENODEV)
        datagram.withUnsafeBytes { reply.receive($0) }
        #expect(reply.finished)
        let failure = try #require(reply.firstFailure)
        #expect(failure.index == 1)
        #expect(failure.ack.errno == EINVAL)
        #expect(reply.failures.count == 3)
    }

    @Test func answersToOtherRequestsAreIgnored() {
        var reply = NetlinkBatchReply(firstSequence: 100, count: 2)
        // A stale answer of an earlier exchange, and one past the batch.
        (Self.answer(sequence: 99, errno: EEXIST) + Self.answer(sequence: 102, errno: 0)).withUnsafeBytes { reply.receive($0) }
        #expect(!reply.finished)
        #expect(reply.firstFailure == nil)
        Self.answer(sequence: 101, errno: 0).withUnsafeBytes { reply.receive($0) }
        #expect(reply.finished)
    }

    @Test func aTruncatedErrorCountsAsABadMessage() throws {
        var reply = NetlinkBatchReply(firstSequence: 5, count: 1)
        N.message(type: Self.error, flags: 0, sequence: 5, body: N.le32(0)).withUnsafeBytes { reply.receive($0) }
        #expect(reply.finished)
        #expect(try #require(reply.firstFailure).ack.errno == EBADMSG)
    }

    @Test func changesAreWordedAsTheirRouteSocketVerbs() {
        let route = RouteChange.addRoute(destination: IPv4Network("0.0.0.0/0")!, gateway: IPv4Address("10.244.1.1")!,
                                         device: "eth0", onlink: false)
        #expect(route.operation == "add route")
        #expect(route.object == "default via 10.244.1.1 dev \"eth0\"")
        let address = RouteChange.addAddress(link: "eth0", address: IPv4Address("10.244.1.5")!, prefixLength: 24)
        #expect(address.operation == "add address")
        #expect(address.object == "10.244.1.5/24 dev \"eth0\"")
        #expect(RouteChange.setMaster(link: "veth0", master: "cni0").object == "\"veth0\" (master \"cni0\")")
    }
}
