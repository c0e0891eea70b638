import ArgumentParser
import LabRuntime

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the labs that are up on this host."
    )

    func run() throws {
        let labs = LabController.labsUp()
        if labs.isEmpty {
            print("no lab is up")
            return
        }
        let rows = labs.map { lab -> [String] in
            guard let status = try? LabStatus.read(lab: lab) else {
                return [lab, "-", "-", "-", "LEFTOVER (no state; remove with lab down \(lab))"]
            }
            return [lab, String(status.nodes.count), String(status.pods.count), status.network,
                    status.healthy ? "up" : "DAMAGED"]
        }
        printTable(header: ["LAB", "NODES", "PODS", "NETWORK", "STATE"], rows: rows)
    }
}
