import ArgumentParser
import Foundation
import LabRuntime

/// `lab supervise LAB`: the lab's long-lived process, started by `lab up` (not by hand).
struct Supervise: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a lab's containers and agents (started by lab up; not for direct use).",
        shouldDisplay: false
    )

    @Argument var lab: String

    func validate() throws { try validateLabName(lab) }

    func run() throws {
        let topology = try LabController.topology(of: lab)
        try Supervisor(state: LabState(lab: lab), topology: topology).run()
    }
}
