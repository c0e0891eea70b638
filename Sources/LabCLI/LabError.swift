import LabKernel
import LabRuntime
import LabPlan
import LabSpec

/// A failure that knows how `lab` ends with it: its exit code and what it prints to stderr.
///
/// The exit code is the command line's contract with scripts, not something the kernel or
/// runtime layers decide, so every error type a command can end with adopts this protocol
/// here, in one place: this file is the table of exit codes (docs/architecture.md, "Exit
/// codes"). A new error type gets its line below; one without a line is an operation that
/// failed (exit 1).
protocol LabError: Error, CustomStringConvertible {
    /// 1 an operation failed, 2 an invalid lab file, 3 a missing privilege, kernel feature or
    /// tool, 128 + the signal when interrupted. (64, bad usage, is the argument parser's.)
    var exitCode: Int32 { get }
    /// What stderr says, a line each; by default the one line `lab: <description>`.
    var messageLines: [String] { get }
}

extension LabError {
    var messageLines: [String] { ["lab: \(self)"] }
}

extension LabFileErrors: LabError {
    var exitCode: Int32 { 2 }

    /// `file:line:column: …` for each error, then how many there were. A generated file can
    /// have thousands; the first ones say what is wrong.
    var messageLines: [String] {
        var lines = errors.prefix(ErrorReporting.maximumErrorsShown).map(\.description)
        let hidden = errors.count - ErrorReporting.maximumErrorsShown
        if hidden > 0 { lines.append("lab: … and \(hidden) more error\(hidden == 1 ? "" : "s") not shown") }
        lines.append("lab: \(errors.count) error\(errors.count == 1 ? "" : "s") in the lab file; nothing was changed")
        return lines
    }
}

extension EnvironmentError: LabError {
    var exitCode: Int32 { 3 }
}

extension KernelError: LabError {
    var exitCode: Int32 { 1 }
}

extension RuntimeError: LabError {
    var exitCode: Int32 { 1 }
}

extension LookupError: LabError {
    var exitCode: Int32 { 1 }
}

/// Its `exitCode` (128 + the signal) is the runtime's already, as a shell would report it.
extension Interruption.Interrupted: LabError {}

/// Anything else (a loader that refused the rules, an agent port taken, a JUnit file that could
/// not be written, …) is an operation that failed: exit 1 with what it said.
struct FailedOperation: LabError {
    var underlying: any Error
    var exitCode: Int32 { 1 }
    var description: String { "\(underlying)" }
}

/// A name that matches nothing is a failed lookup (1), as `LookupError` is; arguments that
/// cannot go together (a port on an ICMP trace) are bad usage (64). Either way nothing ran.
extension TraceError: LabError {
    var exitCode: Int32 { kind == .usage ? 64 : 1 }
}

/// A fault that cannot be made (a value out of range, a target the lab does not have, a lab
/// that is not up) is bad usage: nothing was changed.
extension FaultInputError: LabError {
    var exitCode: Int32 { 64 }
}

extension TraceRuntimeError: LabError {
    var exitCode: Int32 { 1 }
}
