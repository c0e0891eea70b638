import ArgumentParser
import Foundation
import LabSpec

/// Prints every failure in the one format users learn, `lab: <what went wrong>` (lab file errors
/// as `file:line:column: …`), and gives it its exit code (docs/architecture.md, "Exit codes").
enum ErrorReporting {
    /// How many lab file errors are printed before the rest are only counted.
    static let maximumErrorsShown = 50

    /// The one place a command's failure becomes its message and exit code. The argument
    /// parser's own errors (`ExitCode`, and `ValidationError` for bad usage: its message with
    /// the usage, exit 64) go back to it as they are; every other error is printed as a
    /// `LabError` and becomes its `ExitCode`.
    static func exit(for error: any Error) -> any Error {
        if error is ExitCode || error is ValidationError || error is CleanExit { return error }
        let failure = error as? any LabError ?? FailedOperation(underlying: error)
        for line in failure.messageLines { printError(line) }
        return ExitCode(failure.exitCode)
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

extension LabCommand {
    /// Parses the command line and runs the command, as `ParsableCommand.main` does, with
    /// every failure of a `lab` subcommand reported by `ErrorReporting.exit(for:)`.
    public static func main() {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
        } catch {
            // `--help` is a command of the parser's own that ends by throwing the parser's
            // (internal) error for its help screen: only failures of our commands are mapped.
            let ours = ourCommands(configuration.subcommands).contains { $0 == type(of: command) }
            exit(withError: ours ? ErrorReporting.exit(for: error) : error)
        }
    }
}

/// The commands of `lab`, and theirs (`lab fault down`), at every depth.
private func ourCommands(_ commands: [any ParsableCommand.Type]) -> [any ParsableCommand.Type] {
    commands + commands.flatMap { ourCommands($0.configuration.subcommands) }
}

/// A lab name on the command line becomes a path under /run/lab: refuse anything that is not a
/// lab name (`..`, `/`, empty) before it gets near the file system.
func validateLabName(_ name: String?) throws {
    guard let name else { return }
    if let problem = NameRules.labName(name) {
        throw ValidationError("\"\(name)\" is not a lab name: it \(problem)")
    }
}
