import Foundation
import LabKernel

/// Graphviz's `dot`, run once to turn the DOT text of `lab graph` into SVG. `lab` draws no
/// picture itself: Graphviz lays graphs out far better than anything small could, and it is
/// one Debian package (`graphviz`).
public enum Graphviz {
    public static let package = "graphviz"

    /// The SVG `dot -Tsvg` makes of `dot`. Throws `EnvironmentError.missingTool` (exit 3,
    /// naming the package) when `dot` is not installed, `GraphvizError` when it refuses the
    /// input.
    /// `program`: where `dot` is, as `ProgramLookup` finds it (tests pass nil to see the error).
    public static func svg(from dot: String, program: String? = ProgramLookup.resolve("dot")) throws -> String {
        guard let program else {
            throw EnvironmentError.missingTool("dot", package: package)
        }
        // The input, the SVG and dot's complaints all go through files: no pipe can fill up
        // while we wait for dot to exit.
        let base = FileManager.default.temporaryDirectory
            .appendingPathComponent("lab-graph-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let input = base.appendingPathExtension("dot"), output = base.appendingPathExtension("svg")
        let errors = base.appendingPathExtension("err")
        defer { for file in [input, output, errors] { try? FileManager.default.removeItem(at: file) } }
        try Data(dot.utf8).write(to: input)
        for file in [output, errors] { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
        let outputHandle = try FileHandle(forWritingTo: output), errorHandle = try FileHandle(forWritingTo: errors)
        defer { try? outputHandle.close(); try? errorHandle.close() }

        let exit = try ChildProcess.spawn(program: program, arguments: ["-Tsvg", input.path],
                                          stdout: .descriptor(outputHandle.fileDescriptor),
                                          stderr: .descriptor(errorHandle.fileDescriptor)).wait()
        guard exit.signal == nil, exit.code == 0 else {
            let message = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw GraphvizError(status: exit.code, message: message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let svg = try Data(contentsOf: output)
        return String(decoding: svg, as: UTF8.self)
    }
}

/// `dot` ran and failed: what it said. A DOT text `lab` wrote that Graphviz refuses is a bug in
/// `lab`, so the message asks for the DOT to see it.
public struct GraphvizError: Error, CustomStringConvertible {
    public var status: Int32
    public var message: String

    public var description: String {
        "dot -Tsvg failed (exit \(status))" + (message.isEmpty ? "" : ": \(message)")
            + "; `lab graph --format dot` shows the input it was given"
    }
}
