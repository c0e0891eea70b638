import CMnl

/// One message the kernel sent, copied out of the receive buffer so it can be parsed after the
/// next `recv` has overwritten that buffer — and so parsing is testable on plain bytes.
struct NetlinkMessage: Sendable, Hashable {
    let bytes: [UInt8]

    /// Copies the message `header` points at (its full `nlmsg_len`).
    init(copying header: UnsafePointer<nlmsghdr>) {
        bytes = Array(UnsafeRawBufferPointer(start: header, count: Int(header.pointee.nlmsg_len)))
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    var type: UInt16 { bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt16.self) } }

    /// The fixed header (`ifinfomsg`, `ifaddrmsg`, `rtmsg`, …) after `nlmsghdr`; nil when the
    /// message is too short to hold one.
    func header<Header: BitwiseCopyable>(as _: Header.Type) -> Header? {
        let offset = MemoryLayout<nlmsghdr>.size
        guard bytes.count >= offset + MemoryLayout<Header>.size else { return nil }
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Header.self) }
    }

    /// The attributes after a fixed header of `headerSize` bytes (padded as the kernel pads it).
    func attributes(afterHeaderOfSize headerSize: Int) -> NetlinkAttributes {
        bytes.withUnsafeBytes { raw in
            let header = raw.baseAddress!.assumingMemoryBound(to: nlmsghdr.self)
            let start = UnsafeRawPointer(mnl_nlmsg_get_payload_offset(header, headerSize)!)
            let end = UnsafeRawPointer(mnl_nlmsg_get_payload_tail(header)!)
            guard end > start else { return NetlinkAttributes(values: [:]) }
            return NetlinkAttributes(parsing: UnsafeRawBufferPointer(start: start, count: end - start))
        }
    }
}

/// The attributes of a message or of one nested attribute, by type (the last of a repeated type
/// wins; none of the replies we read repeat one).
struct NetlinkAttributes: Sendable, Hashable {
    var values: [UInt16: [UInt8]]

    init(values: [UInt16: [UInt8]]) { self.values = values }

    /// Walks the attributes with libmnl's `mnl_attr_ok`/`mnl_attr_next`, which validate each
    /// length against what is left, so a malformed reply ends the walk instead of overrunning.
    init(parsing raw: UnsafeRawBufferPointer) {
        var values: [UInt16: [UInt8]] = [:]
        guard var attribute = raw.baseAddress?.assumingMemoryBound(to: nlattr.self) else {
            self.values = values
            return
        }
        var remaining = raw.count
        while mnl_attr_ok(attribute, Int32(remaining)) {
            let payload = UnsafeRawBufferPointer(start: mnl_attr_get_payload(attribute),
                                                 count: Int(mnl_attr_get_payload_len(attribute)))
            values[mnl_attr_get_type(attribute)] = Array(payload)
            let next = UnsafePointer(mnl_attr_next(attribute)!)
            remaining -= UnsafeRawPointer(next) - UnsafeRawPointer(attribute)
            attribute = next
        }
        self.values = values
    }

    subscript(type: some BinaryInteger) -> [UInt8]? { values[UInt16(type)] }

    func u8(_ type: some BinaryInteger) -> UInt8? {
        guard let bytes = self[type], bytes.count >= 1 else { return nil }
        return bytes[0]
    }

    func u32(_ type: some BinaryInteger) -> UInt32? {
        guard let bytes = self[type], bytes.count >= 4 else { return nil }
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
    }

    func int32(_ type: some BinaryInteger) -> Int32? { u32(type).map { Int32(bitPattern: $0) } }

    /// A NUL-terminated string attribute (the NUL and anything after it dropped).
    func string(_ type: some BinaryInteger) -> String? {
        guard let bytes = self[type] else { return nil }
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// An IPv4 address attribute (4 bytes, network order).
    func ipv4(_ type: some BinaryInteger) -> [UInt8]? {
        guard let bytes = self[type], bytes.count == 4 else { return nil }
        return bytes
    }

    /// The attributes nested in attribute `type`.
    func nested(_ type: some BinaryInteger) -> NetlinkAttributes? {
        guard let bytes = self[type] else { return nil }
        return bytes.withUnsafeBytes { NetlinkAttributes(parsing: $0) }
    }
}
