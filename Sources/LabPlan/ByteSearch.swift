#if canImport(Glibc)
import Glibc
#endif

/// Where a run of bytes first occurs in others, by `memchr` and `memcmp`: a node's whole rules
/// and a 1,000-pod lab's `topology.json` are searched on every change of its policies, and
/// both Foundation's search and a loop over a collection's bytes cost milliseconds there.
public enum ByteSearch {
    /// The offset in `text` where `pattern` first starts; nil when it does not occur or is empty.
    public static func firstOffset(of pattern: UnsafeRawBufferPointer, in text: UnsafeRawBufferPointer) -> Int? {
        guard !pattern.isEmpty, let needle = pattern.baseAddress, let start = text.baseAddress, pattern.count <= text.count else { return nil }
        let last = text.count - pattern.count
        var from = 0
        while from <= last, let found = memchr(start + from, Int32(pattern[0]), last - from + 1) {
            let at = UnsafeRawPointer(found) - start
            if memcmp(found, needle, pattern.count) == 0 { return at }
            from = at + 1
        }
        return nil
    }

    /// Where `pattern` first starts in `text`.
    public static func firstIndex(of pattern: [UInt8], in text: Substring.UTF8View) -> String.Index? {
        let offset = pattern.withUnsafeBytes { needle in
            text.withContiguousStorageIfAvailable { firstOffset(of: needle, in: UnsafeRawBufferPointer($0)) }
                ?? Array(text).withUnsafeBytes { firstOffset(of: needle, in: $0) }
        }
        return offset.map { text.index(text.startIndex, offsetBy: $0) }
    }
}
