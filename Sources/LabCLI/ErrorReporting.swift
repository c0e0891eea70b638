import ArgumentParser
import Foundation
import LabKernel
import LabRuntime
import LabSpec

/// Maps every failure to DESIGN §7's exit codes after printing it to stderr in the one format
/// users learn: `lab: <what went wrong>` (lab file errors print as `file:line:column: …`).
enum ErrorReporting {
    static func run(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as LabFileErrors {
            for item in error.errors { printError(item.description) }
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
