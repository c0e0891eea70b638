import Foundation

/// The record-then-act log of what `up` creates. Only namespaces need recording: every other
/// object of a lab lives inside one of them and dies with it.
public struct Journal: Sendable {
    public let path: String

    /// Appends `namespace` and fsyncs before returning, so the record survives a SIGKILL or a
    /// crash in the very next instruction.
    public func record(namespace: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RuntimeError.io(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        let line = Array((namespace + "\n").utf8)
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw RuntimeError.io(operation: "write", path: path, errno: errno) }
        guard fsync(fd) == 0 else { throw RuntimeError.io(operation: "fsync", path: path, errno: errno) }
    }

    /// Recorded namespaces, in order, without duplicates.
    public func namespaces() -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        var seen = Set<String>()
        return text.split(separator: "\n").map(String.init).filter { !$0.isEmpty && seen.insert($0).inserted }
    }
}
