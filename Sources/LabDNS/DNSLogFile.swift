import Glibc

/// A log sink for `DNSServer` that appends each line to a file, as a container's output is
/// written (`/run/lab/<lab>/logs/<pod>/<container>.log`), so `lab logs` can show the queries.
/// One `write(2)` per line with `O_APPEND`: lines from one server never interleave, nothing is
/// buffered in memory, and a reader following the file sees each query as it is answered.
public final class DNSLogFile: Sendable {
    public let path: String
    private let fd: Int32

    /// Opens (creating with mode 0644) `path` for appending; its directory must exist.
    public init(path: String) throws(DNSLogFileError) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DNSLogFileError(path: path, errno: errno) }
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }

    /// Appends `line` and a newline. A failed write (a full disk) loses the line, never the
    /// answer: the server must not stop over its log.
    public func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(0x0a)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}

public struct DNSLogFileError: Error, CustomStringConvertible {
    public var path: String
    public var errno: Int32
    public var description: String { "cannot open the DNS query log \(path): \(String(cString: strerror(errno)))" }
}
