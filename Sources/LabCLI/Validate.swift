import ArgumentParser
import LabRuntime
import LabSpec

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a lab file without root and without touching the kernel.",
        discussion: "Prints every error as FILE:LINE:COLUMN: path: message and exits 2 if there is one; warnings do not fail."
    )

    @Argument(help: "The lab file.", completion: .file(extensions: ["yaml", "yml"]))
    var file: String

    func run() throws {
        let source = try LabSource.resolve(file)
        let prepared = try LabController.prepare(text: source.text, file: source.name)
        for warning in prepared.warnings { ErrorReporting.printError(warning.description) }
        let topology = prepared.topology
        print("\(source.name): ok: lab \(topology.lab), \(topology.networks.count) networks, \(topology.nodes.count) nodes, \(topology.pods.count) pods, \(topology.services.count) services, \(topology.hosts.count) hosts; \(prepared.plan.operations.count) kernel operations")
    }
}
