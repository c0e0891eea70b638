import CProcess
import Foundation
import LabKernel
import LabPlan

/// Loads a node's service rules the way kube-proxy does: the whole text in one transaction by
/// one `iptables-restore` (or `nft -f`) run inside the node's namespace. The text is kept in
/// the lab's state (`rules/<namespace>.rules`), so what was loaded can always be read back.
enum FirewallLoad {
    struct Failure: Error, CustomStringConvertible {
        var namespace: String
        var command: String
        var status: Int32
        var output: String
        var rulesPath: String

        var description: String {
            let detail = output.split(separator: "\n").prefix(5).joined(separator: "; ")
            return "\(command) in \(namespace) failed (exit \(status)): \(detail) — the rules are in \(rulesPath)"
        }
    }

    static func run(_ loader: FirewallLoader, rules: String, in namespace: NetworkNamespace, directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let rulesPath = "\(directory)/\(namespace.name).rules"
        let outputPath = "\(directory)/\(namespace.name).log"
        try rules.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let arguments = loader.arguments(file: rulesPath)
        guard let program = ContainerLauncher.resolve(arguments[0]) else {
            throw EnvironmentError.missingTool(arguments[0], package: loader == .nft ? "nftables" : "iptables")
        }
        let outputFD = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard outputFD >= 0 else { throw RuntimeError.io(operation: "open", path: outputPath, errno: errno) }
        let argv = CStringArray(arguments)
        let envp = CStringArray(["PATH=\(ContainerLauncher.basePath)"])
        var step: Int32 = 0
        let pid = lab_spawn(program, argv.pointers, envp.pointers, namespace.fd, nil, 0, outputFD, &step)
        close(outputFD)
        guard pid > 0 else {
            throw KernelError(operation: "run \(arguments[0])", object: rulesPath, namespace: namespace.name, errno: errno)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = exitCode(status)
        guard code == 0 else {
            let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw Failure(namespace: namespace.name, command: arguments[0], status: code, output: output, rulesPath: rulesPath)
        }
    }
}
