import ArgumentParser
import LabRuntime

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check privileges, kernel features and tools, and find leftovers of crashed labs.",
        discussion: "Exit 3 when something lab needs is missing, 0 otherwise (warnings included)."
    )

    func run() throws {
        let findings = Doctor.run()
        printTable(header: ["", "CHECK", "DETAIL"], rows: findings.map { [$0.level.rawValue, $0.check, $0.detail] })
        if findings.contains(where: { $0.level == .problem }) { throw ExitCode(3) }
    }
}
