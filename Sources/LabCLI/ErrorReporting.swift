import ArgumentParser
import Foundation
import LabKernel
import LabRuntime
import LabSpec

/// Maps every failure to its exit code (docs/architecture.md, "Exit codes") after printing it to
/// stderr in the one format users learn: `lab: <what went wrong>` (lab file errors print as
/// `file:line:column: …`).
enum ErrorReporting {
    /// How many lab file errors are printed before the rest are only counted.
    static let maximumErrorsShown = 50

    static func run(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as LabFileErrors {
            // A generated file can have thousands; the first ones say what is wrong.
            for item in error.errors.prefix(maximumErrorsShown) { printError(item.description) }
            let hidden = error.errors.count - maximumErrorsShown
            if hidden > 0 { printError("lab: … and \(hidden) more error\(hidden == 1 ? "" : "s") not shown") }
            printError("lab: \(error.errors.count) error\(error.errors.count == 1 ? "" : "s") in the lab file; nothing was changed")
            throw ExitCode(2)
        } catch let error as EnvironmentError {
            printError("lab: \(error)")
            throw ExitCode(3)
        } catch let error as KernelError {
            printError("lab: \(error)")
            throw ExitCode(1)
        } catch let error as RuntimeError {
            printError("lab: \(error)")
            throw ExitCode(1)
        } catch let error as Interruption.Interrupted {
            printError("lab: \(error)")
            throw ExitCode(error.exitCode)
        } catch let error as ExitCode {
            throw error
        } catch let error as ValidationError {
            throw error
        } catch {
            // Anything else (a loader that refused the rules, an agent port taken, …) is an
            // operation that failed: exit 1 with what it said.
            printError("lab: \(error)")
            throw ExitCode(1)
        }
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// A lab name on the command line becomes a path under /run/lab: refuse anything that is not a
/// lab name (`..`, `/`, empty) before it gets near the file system.
func validateLabName(_ name: String?) throws {
    guard let name else { return }
    if let problem = NameRules.labName(name) {
        throw ValidationError("\"\(name)\" is not a lab name: it \(problem)")
    }
}
