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
        let rulesPath = "\(directory)/\(namespace.name).\(loader.fileExtension)"
        let outputPath = "\(directory)/\(namespace.name).\(loader.fileExtension).log"
        try rules.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let arguments = loader.arguments(file: rulesPath)
        let code = try NamespacedCommand.run(arguments, package: loader.package,
                                             in: namespace, outputPath: outputPath)
        guard code == 0 else {
            let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw Failure(namespace: namespace.name, command: arguments[0], status: code, output: output, rulesPath: rulesPath)
        }
    }
}
