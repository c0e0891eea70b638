import Glibc

/// Finished probes' JSON objects or JUnit elements, kept by task index until the document is
/// written: in an unlinked temporary file when one can be made (80,000 probes' JSON is some
/// 55 MB the process then does not hold), in memory otherwise.
final class FragmentStore {
    private var fd: Int32 = -1
    private var end: Int64 = 0
    /// Where each index's fragment is in the file (offset, length), or the bytes themselves.
    private var places: [(offset: Int64, length: Int32)?]
    private var inMemory: [[UInt8]?]

    init(count: Int, directory: String = "/tmp") {
        places = Array(repeating: nil, count: count)
        inMemory = []
        var template = Array("\(directory)/lab-verify-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if made >= 0 {
            // Unlinked at once: nothing is left behind, whatever ends the process.
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            _ = fcntl(made, F_SETFD, FD_CLOEXEC)
            fd = made
        } else {
            inMemory = Array(repeating: nil, count: count)
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    func store(_ index: Int, _ bytes: [UInt8]) {
        guard fd >= 0 else {
            inMemory[index] = bytes
            return
        }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + written, $0.count - written, off_t(end) + off_t(written)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                // A full disk: keep this one (and the rest) in memory instead.
                if inMemory.isEmpty { inMemory = Array(repeating: nil, count: places.count) }
                inMemory[index] = bytes
                return
            }
            written += count
        }
        places[index] = (end, Int32(bytes.count))
        end += Int64(bytes.count)
    }

    func has(_ index: Int) -> Bool { places[index] != nil || (!inMemory.isEmpty && inMemory[index] != nil) }

    /// The fragment of `index`, if one was stored.
    func fragment(_ index: Int) -> [UInt8]? {
        if !inMemory.isEmpty, let bytes = inMemory[index] { return bytes }
        guard let place = places[index] else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(place.length))
        var read = 0
        while read < bytes.count {
            let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + read, $0.count - read, off_t(place.offset) + off_t(read)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return nil }
            read += count
        }
        return bytes
    }
}
