import ArgumentParser
import LabRuntime

/// `--lab LAB`, for commands whose positional arguments name something inside a lab.
struct LabOption: ParsableArguments {
    @Option(help: "The lab (default: the only lab that is up).")
    var lab: String?

    func validate() throws { try validateLabName(lab) }

    /// The lab meant: the one given, or the only one up.
    func resolve() throws -> String { try LabController.resolveLab(lab) }
}
