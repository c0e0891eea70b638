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
        // The input and dot's complaints go through files, the SVG through a pipe read to its
        // end: no pipe is ever full while we wait on another.
        let directory = FileManager.default.temporaryDirectory
        let input = directory.appendingPathComponent("lab-graph-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).dot")
        let errors = input.appendingPathExtension("err")
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(at: errors)
        }
        try Data(dot.utf8).write(to: input)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        let errorHandle = try FileHandle(forWritingTo: errors)
        defer { try? errorHandle.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = ["-Tsvg", input.path]
        process.environment = ["PATH": ProgramLookup.basePath]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errorHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let svg = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let message = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw GraphvizError(status: process.terminationStatus, message: message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
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
