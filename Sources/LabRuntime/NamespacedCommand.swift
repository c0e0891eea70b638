import Foundation
import LabKernel

/// One run of a system tool inside a lab namespace (`iptables-restore`, `nft`, `conntrack`):
/// started in the namespace (`ChildProcess`), output to a file, waited for. Used only where the
/// kernel interface is the tool's own format — one process per node and change, never one per
/// kernel object.
enum NamespacedCommand {
    /// Runs `arguments` in `namespace` and returns the exit status; stdout and stderr go to
    /// `outputPath`. `package` names what to install when the program is missing.
    static func run(_ arguments: [String], package: String, in namespace: NetworkNamespace, outputPath: String) throws -> Int32 {
        guard ProgramLookup.resolve(arguments[0]) != nil else {
            throw EnvironmentError.missingTool(arguments[0], package: package)
        }
        let outputFD = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard outputFD >= 0 else { throw RuntimeError.io(operation: "open", path: outputPath, errno: errno) }
        defer { close(outputFD) }
        let process: ChildProcess
        do throws(SpawnError) {
            process = try ChildProcess.spawn(program: arguments[0], arguments: Array(arguments.dropFirst()), netns: namespace,
                                             stdout: .descriptor(outputFD), stderr: .descriptor(outputFD))
        } catch {
            throw KernelError(operation: "run \(arguments[0])", object: arguments.joined(separator: " "),
                              namespace: namespace.name, errno: error.errno)
        }
        return process.wait().code
    }
}
