/// The errors and warnings found in one lab file, with the source map that places them.
/// Decoder and validator both report here so that `LabFileLoader` can hand back every problem
/// of the file at once, in file order, instead of stopping at the first.
struct Diagnostics {
    var sourceMap: SourceMap
    private(set) var errors: [LabFileError] = []
    private(set) var warnings: [LabFileError] = []
    /// Some checks can reach the same conclusion twice (a name clash seen from both sides);
    /// the user should read it once.
    private var seen: Set<LabFileError> = []

    init(file: String) { sourceMap = SourceMap(file: file) }

    var file: String { sourceMap.file }

    /// An error about the value at `path`, placed where that value was written.
    mutating func error(_ path: String, _ message: String) {
        error(path, at: sourceMap.position(of: path), message)
    }

    /// An error about the key that introduced `path` (unknown or repeated keys).
    mutating func keyError(_ path: String, _ message: String) {
        error(path, at: sourceMap.keyPosition(of: path), message)
    }

    mutating func error(_ path: String, at position: SourcePosition, _ message: String) {
        let error = LabFileError(file: file, position: position, path: path, message: message)
        if seen.insert(error).inserted { errors.append(error) }
    }

    mutating func warning(_ path: String, _ message: String) {
        let warning = LabFileError(file: file, position: sourceMap.position(of: path), path: path,
                                   message: message, severity: .warning)
        if seen.insert(warning).inserted { warnings.append(warning) }
    }

    /// `line 12`, for messages that point at a second place in the file.
    func line(of path: String) -> String { "line \(sourceMap.position(of: path).line)" }

    /// Errors and warnings in file order; equal positions keep the order they were found in.
    static func inFileOrder(_ list: [LabFileError]) -> [LabFileError] {
        list.enumerated().sorted { lhs, rhs in
            let l = (lhs.element.position.line, lhs.element.position.column)
            let r = (rhs.element.position.line, rhs.element.position.column)
            return l != r ? l < r : lhs.offset < rhs.offset
        }.map(\.element)
    }
}
