/// FNV-1a, 64 bit: a tiny, well-known hash that is stable across runs, machines and Swift
/// versions (unlike `Hasher`, which is seeded per process). Used for generated interface names
/// and MAC addresses, which must be the same every time the same lab file is applied.
public enum StableHash {
    public static func fnv1a64(_ parts: [String]) -> UInt64 {
        var hash = offsetBasis
        for (index, part) in parts.enumerated() {
            if index > 0 { hash = fnv1a64(hash, [0x1f]) } // unit separator between parts
            hash = fnv1a64(hash, part.utf8)
        }
        return hash
    }

    /// The same hash of raw bytes, as one part (a saved file's contents, compared with a record
    /// of them).
    public static func fnv1a64(bytes: UnsafeRawBufferPointer) -> UInt64 {
        fnv1a64(offsetBasis, bytes)
    }

    private static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325

    /// `hash` continued over `bytes`.
    private static func fnv1a64<Bytes: Sequence<UInt8>>(_ hash: UInt64, _ bytes: Bytes) -> UInt64 {
        bytes.reduce(hash) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
    }

    /// FNV's last input byte only reaches the bits above it, so names of `pod-a` and `pod-b`
    /// would share most digits; MurmurHash3's finaliser spreads every input bit over all 64.
    public static func mixed(_ parts: [String]) -> UInt64 {
        var hash = fnv1a64(parts)
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        hash &*= 0xc4ce_b9fe_1a85_ec53
        hash ^= hash >> 33
        return hash
    }

    /// Eight lowercase hex digits from the hash, the shape the CNI bridge plugin uses for `veth%08x`.
    public static func hex8(_ parts: [String]) -> String {
        let value = UInt32(truncatingIfNeeded: mixed(parts) >> 32)
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
