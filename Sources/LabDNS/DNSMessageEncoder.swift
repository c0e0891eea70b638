extension DNSMessage {
    /// The message on the wire, at most `limit` bytes (512 for plain UDP, the EDNS size, or
    /// 65535 for TCP).
    ///
    /// Records that do not fit are left out whole, at a record boundary, from the end: the
    /// additional section goes first and silently (it only saves a lookup), then authority and
    /// answer records, which sets TC so the client retries over TCP (RFC 2181 §9). The OPT
    /// record's 11 bytes are reserved up front, so a reply to an EDNS query always carries one.
    /// Owner names and the names inside NS, CNAME, PTR and SOA data are compressed; SRV targets
    /// are not (RFC 2782).
    public func encoded(limit: Int = 65535) -> [UInt8] {
        var writer = DNSMessageWriter()
        var header = self.header
        writer.u16(header.id)
        writer.u16(0) // flags, written last: TC may change
        writer.u16(UInt16(truncatingIfNeeded: questions.count))
        writer.u16(0)
        writer.u16(0)
        writer.u16(0)
        for question in questions {
            writer.name(question.name, compress: true)
            writer.u16(question.type.rawValue)
            writer.u16(question.class.rawValue)
        }
        let optLength = edns == nil ? 0 : 11
        let budget = max(limit, Self.headerLength) - optLength
        var counts = [0, 0, 0]
        var full = writer.bytes.count > budget
        for (section, records) in [answers, authorities, additionals].enumerated() {
            for record in records where !full {
                let mark = writer.mark()
                writer.record(record)
                if writer.bytes.count > budget {
                    writer.rewind(to: mark)
                    full = true
                    if section < 2 { header.truncated = true }
                } else {
                    counts[section] += 1
                }
            }
        }
        if let edns {
            writer.bytes.append(0)
            writer.u16(DNSType.opt.rawValue)
            writer.u16(edns.udpPayloadSize)
            writer.u32(UInt32(edns.extendedRcode) << 24 | UInt32(edns.version) << 16 | (edns.dnssecOK ? 0x8000 : 0))
            writer.u16(UInt16(truncatingIfNeeded: edns.options.count))
            writer.bytes += edns.options
            counts[2] += 1
        }
        writer.set(header.flags, at: 2)
        for (index, count) in counts.enumerated() { writer.set(UInt16(count), at: 6 + 2 * index) }
        return writer.bytes
    }
}

/// Appends a message's fields, remembering where each name was written so later names can
/// point at a suffix already in the message.
struct DNSMessageWriter {
    var bytes: [UInt8] = []
    /// Lower-cased name suffix → its offset; only offsets a pointer can express (< 0x4000).
    private var offsets: [DNSName: Int] = [:]
    /// The suffixes added, in order, so a record that did not fit can be taken back.
    private var added: [DNSName] = []

    struct Mark {
        var length: Int
        var added: Int
    }

    init() { bytes.reserveCapacity(512) }

    func mark() -> Mark { Mark(length: bytes.count, added: added.count) }

    mutating func rewind(to mark: Mark) {
        bytes.removeSubrange(mark.length...)
        for suffix in added[mark.added...] { offsets[suffix] = nil }
        added.removeSubrange(mark.added...)
    }

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xff))
    }

    mutating func u32(_ value: UInt32) {
        u16(UInt16(value >> 16))
        u16(UInt16(value & 0xffff))
    }

    mutating func set(_ value: UInt16, at offset: Int) {
        bytes[offset] = UInt8(value >> 8)
        bytes[offset + 1] = UInt8(value & 0xff)
    }

    /// Writes `name`: its labels up to the longest suffix already written, then a pointer to
    /// it (or the root byte). Each new suffix is remembered, whether or not this name used
    /// compression.
    mutating func name(_ name: DNSName, compress: Bool) {
        let key = name.key
        for index in 0..<key.labels.count {
            let suffix = key.dropping(index)
            if compress, let offset = offsets[suffix] {
                u16(0xc000 | UInt16(offset))
                return
            }
            if bytes.count < 0x4000, offsets[suffix] == nil {
                offsets[suffix] = bytes.count
                added.append(suffix)
            }
            bytes.append(UInt8(name.labels[index].count))
            bytes += name.labels[index]
        }
        bytes.append(0)
    }

    mutating func record(_ record: DNSRecord) {
        name(record.name, compress: true)
        u16(record.type.rawValue)
        u16(record.class.rawValue)
        u32(record.ttl)
        let lengthOffset = bytes.count
        u16(0)
        switch record.data {
        case .a(let address), .aaaa(let address):
            bytes += address
        case .ns(let target), .cname(let target), .ptr(let target):
            name(target, compress: true)
        case .soa(let soa):
            name(soa.primary, compress: true)
            name(soa.mailbox, compress: true)
            for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] { u32(value) }
        case .srv(let srv):
            u16(srv.priority)
            u16(srv.weight)
            u16(srv.port)
            name(srv.target, compress: false)
        case .txt(let strings):
            for string in strings {
                bytes.append(UInt8(min(string.count, 255)))
                bytes += string.prefix(255)
            }
        case .other(_, let data):
            bytes += data
        }
        set(UInt16(truncatingIfNeeded: bytes.count - lengthOffset - 2), at: lengthOffset)
    }
}
