/// A netlink encoder written independently of libmnl, for expectations: the numbers are the
/// kernel's uapi values, spelled out so a wrong constant in the library cannot also be wrong
/// here.
enum ExpectedNetlink {
    // Message types and flags (linux/rtnetlink.h, linux/netlink.h).
    static let newLink: UInt16 = 16, getLink: UInt16 = 18, newAddress: UInt16 = 20, newRoute: UInt16 = 24, newNeighbor: UInt16 = 28
    static let request: UInt16 = 0x1, ack: UInt16 = 0x4, dump: UInt16 = 0x300
    static let replace: UInt16 = 0x100, excl: UInt16 = 0x200, create: UInt16 = 0x400, append: UInt16 = 0x800
    /// `NLA_F_NESTED`, set by libmnl ≥ 1.0.4 on every nest it starts.
    static let nested: UInt16 = 0x8000

    static func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8 & 0xff)] }
    static func le32(_ value: Int) -> [UInt8] { le16(value & 0xffff) + le16(value >> 16 & 0xffff) }

    static func padded(_ bytes: [UInt8]) -> [UInt8] {
        bytes + [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4)
    }

    /// `nlmsghdr` (sequence and port id 0, as a request is before the socket sends it) + body.
    static func message(type: UInt16, flags: UInt16, sequence: Int = 0, body: [UInt8]) -> [UInt8] {
        le32(16 + body.count) + le16(Int(type)) + le16(Int(flags)) + le32(sequence) + le32(0) + body
    }

    /// An attribute: `nla_len` counts the 4-byte header and the payload, not the padding.
    static func attribute(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        padded(le16(4 + payload.count) + le16(Int(type)) + payload)
    }

    static func nest(_ type: UInt16, _ children: [UInt8]...) -> [UInt8] {
        attribute(type | nested, children.flatMap { $0 })
    }

    static func string(_ type: UInt16, _ text: String) -> [UInt8] { attribute(type, Array(text.utf8) + [0]) }
    static func u32(_ type: UInt16, _ value: Int) -> [UInt8] { attribute(type, le32(value)) }
    static func u8(_ type: UInt16, _ value: UInt8) -> [UInt8] { attribute(type, [value]) }

    /// `struct ifinfomsg`: family, pad, type (u16), index (s32), flags (u32), change (u32).
    static func ifinfomsg(family: UInt8 = 0, index: Int = 0, flags: Int = 0, change: Int = 0) -> [UInt8] {
        [family, 0] + le16(0) + le32(index) + le32(flags) + le32(change)
    }

    /// `struct ifaddrmsg`: family, prefix length, flags, scope (u8 each), index (u32).
    static func ifaddrmsg(family: UInt8, prefixLength: UInt8, scope: UInt8, index: Int) -> [UInt8] {
        [family, prefixLength, 0, scope] + le32(index)
    }

    /// `struct rtmsg`: family, dst_len, src_len, tos, table, protocol, scope, type (u8 each), flags (u32).
    static func rtmsg(family: UInt8, destinationLength: UInt8, table: UInt8, protocol: UInt8, scope: UInt8, type: UInt8, flags: Int) -> [UInt8] {
        [family, destinationLength, 0, 0, table, `protocol`, scope, type] + le32(flags)
    }

    /// `struct ndmsg`: family, pad, pad (u16), ifindex (s32), state (u16), flags, type (u8 each).
    static func ndmsg(family: UInt8, index: Int, state: Int, flags: UInt8) -> [UInt8] {
        [family, 0] + le16(0) + le32(index) + le16(state) + [flags, 0]
    }
}
