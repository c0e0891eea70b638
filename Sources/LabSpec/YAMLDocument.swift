import Yams

/// The YAML tree of a lab file, composed by Yams, plus what composing had to work around.
struct YAMLDocument {
    /// A key written a second time in one mapping.
    struct RepeatedKey: Equatable {
        var key: String
        var first: SourcePosition
    }

    /// nil for a file with no document (empty, or only comments).
    var root: Node?
    /// Repeated keys by the position of the repeat. Yams refuses such a mapping outright, so
    /// each repeat was renamed to a private placeholder in a copy of the text before composing
    /// again; the decoder reports these and skips them.
    var repeatedKeys: [SourcePosition: RepeatedKey] = [:]

    /// More repeats than this in one file and we stop recovering: each costs a full re-parse.
    static let maximumRecoveredRepeats = 64

    /// Composes `text`, or returns the one error that makes the text unreadable as YAML.
    static func compose(_ text: String, file: String) -> Result<YAMLDocument, LabFileError> {
        var document = YAMLDocument()
        // Built on the first repeat only: most files have none and need no second look.
        var maskedText: ScalarText?
        var current = text
        while true {
            do {
                document.root = try Yams.compose(yaml: current, ScalarResolver.resolver)
                return .success(document)
            } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
                let key = duplicates.first ?? ""
                let first = SourcePosition(line: context.mark.line, column: context.mark.column)
                var masked = maskedText ?? ScalarText(text)
                guard document.repeatedKeys.count < maximumRecoveredRepeats,
                      let offset = RepeatedKeyLocator.repeatOffset(of: key, firstAt: first, in: masked) else {
                    return .failure(LabFileError(file: file, position: first, path: "",
                                                 message: "the key \"\(key)\" is written twice in one mapping"))
                }
                document.repeatedKeys[masked.position(of: offset.token)] = RepeatedKey(key: key, first: first)
                masked.replace(at: offset.text, with: placeholder(number: document.repeatedKeys.count,
                                                                  length: key.unicodeScalars.count))
                current = masked.text
                maskedText = masked
            } catch let error as YamlError {
                return .failure(syntaxError(error, text: text, file: file))
            } catch {
                return .failure(LabFileError(file: file, position: SourcePosition(line: 1, column: 1), path: "",
                                             message: "cannot read the file as YAML: \(error)"))
            }
        }
    }

    /// A key of private-use scalars, as long as the key it replaces so that every later column
    /// on the line stays where it was; the first scalar numbers it so two placeholders in one
    /// mapping never repeat each other.
    private static func placeholder(number: Int, length: Int) -> [Unicode.Scalar] {
        let base: UInt32 = 0xE000
        let first = Unicode.Scalar(base + UInt32(number % 0x1800)) ?? "\u{E000}"
        return [first] + Array(repeating: "\u{E000}", count: max(0, length - 1))
    }

    /// One error for a Yams failure, at the place libyaml stopped.
    private static func syntaxError(_ error: YamlError, text: String, file: String) -> LabFileError {
        func located(_ mark: Mark, _ message: String) -> LabFileError {
            LabFileError(file: file, position: SourcePosition(line: mark.line, column: mark.column), path: "", message: message)
        }
        func explained(_ problem: String, _ context: YamlError.Context?) -> String {
            guard let context else { return "invalid YAML: \(problem)" }
            return "invalid YAML: \(problem) (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
        }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _):
            if character(at: mark, in: text) == "\t" {
                return located(mark, "a tab cannot indent YAML; use spaces here")
            }
            if problem.contains("max_nest_level") || problem.lowercased().contains("nesting level") {
                return located(mark, "the file nests too deep here for a lab file (libyaml's limit); a lab file needs only a few levels")
            }
            return located(mark, explained(problem, context))
        case let .composer(context, problem, mark, _):
            if problem == "but found another document" {
                return located(mark, "a lab file holds one YAML document, but another one starts here")
            }
            return located(mark, explained(problem, context))
        case let .reader(problem, offset, value, _):
            // `offset` counts Characters from the start of the text.
            var position = SourcePosition(line: 1, column: 1)
            if let offset, let index = text.index(text.startIndex, offsetBy: offset, limitedBy: text.endIndex) {
                position = ScalarText(String(text[..<index])).position(of: text[..<index].unicodeScalars.count)
            }
            let character = value >= 0 ? " (U+\(String(UInt32(value), radix: 16, uppercase: true)))" : ""
            return LabFileError(file: file, position: position, path: "",
                                message: "the file is not YAML text: \(problem)\(character)")
        default:
            return LabFileError(file: file, position: SourcePosition(line: 1, column: 1), path: "",
                                message: "cannot read the file as YAML: \(error)")
        }
    }

    /// The character at a 1-based line and column of `text` (columns count Unicode scalars).
    private static func character(at mark: Mark, in text: String) -> Unicode.Scalar? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line >= 1, mark.line <= lines.count else { return nil }
        let scalars = Array(lines[mark.line - 1].unicodeScalars)
        guard mark.column >= 1, mark.column <= scalars.count else { return nil }
        return scalars[mark.column - 1]
    }
}
