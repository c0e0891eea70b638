import CMnl

/// A netlink request, built in place by libmnl.
///
/// This is the one place that lays out netlink messages: callers append a fixed header and
/// typed attributes, nest attributes with a closure, and never compute a length or padding —
/// `mnl_nlmsg_put_header`, `mnl_nlmsg_put_extra_header`, `mnl_attr_put*` and
/// `mnl_attr_nest_start/end` do. The sequence number is filled in by the socket when it sends,
/// so a request's bytes are otherwise a pure function of its arguments (and are tested as such).
final class NetlinkRequest {
    /// Requests here are a few hundred bytes; interface names are at most 15 bytes.
    static let capacity = 4096

    let buffer: UnsafeMutableRawPointer
    let header: UnsafeMutablePointer<nlmsghdr>

    init(type: Int, flags: Int32) {
        buffer = .allocate(byteCount: NetlinkRequest.capacity, alignment: 8)
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: NetlinkRequest.capacity)
        header = mnl_nlmsg_put_header(buffer)!
        header.pointee.nlmsg_type = UInt16(type)
        header.pointee.nlmsg_flags = UInt16(flags)
    }

    deinit { buffer.deallocate() }

    /// `nlmsg_len`: the whole message, padding included.
    var length: Int { Int(header.pointee.nlmsg_len) }

    var sequence: UInt32 {
        get { header.pointee.nlmsg_seq }
        set { header.pointee.nlmsg_seq = newValue }
    }

    /// The message as sent.
    var bytes: [UInt8] { Array(UnsafeRawBufferPointer(start: buffer, count: length)) }

    /// Appends a fixed-size C header (`ifinfomsg`, `ifaddrmsg`, `rtmsg`, …) at the current end.
    /// Inside a nest this is how `VETH_INFO_PEER` gets its own `ifinfomsg`.
    func putHeader<Header: BitwiseCopyable>(_ value: Header) {
        reserve(MemoryLayout<Header>.size)
        let place = mnl_nlmsg_put_extra_header(header, MemoryLayout<Header>.size)!
        place.storeBytes(of: value, as: Header.self)
    }

    func put(_ type: some BinaryInteger, bytes: [UInt8]) {
        let added = bytes.withUnsafeBytes { raw in
            mnl_attr_put_check(header, NetlinkRequest.capacity, UInt16(type), raw.count, raw.baseAddress)
        }
        precondition(added, "netlink request larger than \(NetlinkRequest.capacity) bytes")
    }

    func put(_ type: some BinaryInteger, u8 value: UInt8) { put(type, bytes: [value]) }

    func put(_ type: some BinaryInteger, u32 value: UInt32) {
        precondition(mnl_attr_put_u32_check(header, NetlinkRequest.capacity, UInt16(type), value),
                     "netlink request larger than \(NetlinkRequest.capacity) bytes")
    }

    /// A NUL-terminated string, as the kernel expects for names and kinds.
    func put(_ type: some BinaryInteger, string value: String) {
        precondition(mnl_attr_put_strz_check(header, NetlinkRequest.capacity, UInt16(type), value),
                     "netlink request larger than \(NetlinkRequest.capacity) bytes")
    }

    /// An attribute whose payload is the attributes (and headers) `body` appends.
    func nest(_ type: some BinaryInteger, _ body: () -> Void) {
        guard let start = mnl_attr_nest_start_check(header, NetlinkRequest.capacity, UInt16(type)) else {
            preconditionFailure("netlink request larger than \(NetlinkRequest.capacity) bytes")
        }
        body()
        mnl_attr_nest_end(header, start)
    }

    private func reserve(_ size: Int) {
        precondition(length + size <= NetlinkRequest.capacity, "netlink request larger than \(NetlinkRequest.capacity) bytes")
    }
}

extension NetlinkRequest {
    /// Flags of a request that changes something: the kernel answers with an ack (or an error).
    static let change = NLM_F_REQUEST | NLM_F_ACK
    /// Flags of a request that creates something and must not touch an existing one (EEXIST).
    static let create = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
    /// Flags of a dump: the kernel answers with many messages and `NLMSG_DONE`.
    static let dump = NLM_F_REQUEST | NLM_F_DUMP
}
