import CProcess
import Foundation
import LabKernel

/// One run of a system tool inside a lab namespace (`iptables-restore`, `nft`, `conntrack`):
/// fork, setns and exec in C (`lab_spawn`), output to a file, wait for the exit status. Used
/// only where the kernel interface is the tool's own format — one process per node and change,
/// never one per kernel object.
enum NamespacedCommand {
    /// Runs `arguments` in `namespace` and returns the exit status; stdout and stderr go to
    /// `outputPath`. `package` names what to install when the program is missing.
    static func run(_ arguments: [String], package: String, in namespace: NetworkNamespace, outputPath: String) throws -> Int32 {
        guard let program = ProgramLookup.resolve(arguments[0]) else {
            throw EnvironmentError.missingTool(arguments[0], package: package)
        }
        let outputFD = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard outputFD >= 0 else { throw RuntimeError.io(operation: "open", path: outputPath, errno: errno) }
        let argv = CStringArray(arguments)
        let envp = CStringArray(["PATH=\(ProgramLookup.basePath)"])
        var step: Int32 = 0
        let pid = lab_spawn(program, argv.pointers, envp.pointers, namespace.fd, nil, 0, outputFD, &step)
        close(outputFD)
        guard pid > 0 else {
            throw KernelError(operation: "run \(arguments[0])", object: arguments.joined(separator: " "),
                              namespace: namespace.name, errno: errno)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return exitCode(status)
    }
}
