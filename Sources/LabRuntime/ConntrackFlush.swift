import Foundation
import LabKernel
import LabPlan

/// `conntrack -D` inside a node: forgets the UDP flows a changed service must not keep, as
/// kube-proxy does after a sync (a UDP "connection" to a removed endpoint would otherwise
/// live on as long as the client keeps sending).
enum ConntrackFlush {
    struct Failure: Error, CustomStringConvertible {
        var netns: String
        var arguments: [String]
        var status: Int32
        var output: String

        var description: String {
            "conntrack \(arguments.joined(separator: " ")) in \(netns) failed (exit \(status)): \(output.split(separator: "\n").prefix(3).joined(separator: "; "))"
        }
    }

    static func run(_ filter: ConntrackFilter, in namespace: NetworkNamespace, directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let outputPath = "\(directory)/\(namespace.name).conntrack.log"
        let arguments = ["conntrack", "-D"] + filter.arguments
        let status = try NamespacedCommand.run(arguments, package: "conntrack", in: namespace, outputPath: outputPath)
        // 1 means "0 flow entries have been deleted": nothing to forget is not a failure.
        guard status == 0 || status == 1 else {
            let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw Failure(netns: namespace.name, arguments: Array(arguments.dropFirst()), status: status, output: output)
        }
    }
}
