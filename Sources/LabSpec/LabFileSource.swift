#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading a lab file from disk: the only I/O of `LabSpec`, kept thin so everything after it
/// is a pure function of the text. Errors carry the OS's own words (`No such file or
/// directory`), because that is what the user can act on.
enum LabFileSource {
    /// Lab files are hand-written and small (a thousand pods is a few hundred KiB); anything
    /// much larger is the wrong file, and refusing it keeps the parser's memory bounded.
    static let maximumSize = 8 << 20

    static func contents(ofFile path: String) -> Result<String, LabFileError> {
        let start = SourcePosition(line: 1, column: 1)
        func failure(_ message: String) -> Result<String, LabFileError> {
            .failure(LabFileError(file: path, position: start, path: "", message: message))
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return failure("cannot open the lab file: \(reason(errno))") }
        defer { close(descriptor) }

        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return failure("cannot read the lab file: \(reason(errno))")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > maximumSize {
                return failure("the file is larger than \(maximumSize >> 20) MiB; is it really a lab file?")
            }
        }
        return decodeUTF8(bytes, file: path)
    }

    /// The text of `bytes`, or an error at the first byte that is not UTF-8 (YAML is Unicode
    /// text; a binary file ends here with a position instead of deep inside the parser).
    static func decodeUTF8(_ bytes: [UInt8], file: String) -> Result<String, LabFileError> {
        // Valid text, the usual case, is checked in one pass; only invalid text is walked
        // scalar by scalar to say where.
        if let text = String(validating: bytes, as: UTF8.self) { return .success(text) }
        var line = 1, column = 1
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var scalars = String.UnicodeScalarView()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                scalars.append(scalar)
                if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
            case .emptyInput:
                return .success(String(scalars))
            case .error:
                return .failure(LabFileError(file: file, position: SourcePosition(line: line, column: column), path: "",
                                             message: "the file is not UTF-8 text; is it really a lab file?"))
            }
        }
    }

    private static func reason(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
