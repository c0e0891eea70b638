import ArgumentParser
import LabRuntime

/// How every command that works on one lab names it: `--lab LAB`, defaulting to the only lab
/// that is up. Commands whose positional arguments name something inside the lab (`exec`,
/// `logs`) take only this; the others take `LabArgument`, which adds the positional form.
struct LabOption: ParsableArguments {
    @Option(help: ArgumentHelp("The lab (default: the only lab that is up).", valueName: "lab"))
    var lab: String?

    func validate() throws { try validateLabName(lab) }

    /// The lab meant: the one given, or the only one up.
    func resolve() throws -> String { try LabController.resolveLab(lab) }
}

/// The lab as the command's one positional argument, where it reads best (`lab status demo`),
/// or as `--lab demo` like every other command; the two forms mean the same.
struct LabArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The lab (default: the only lab that is up); the same as --lab <lab>.", valueName: "lab"))
    var positional: String?

    @OptionGroup var option: LabOption

    /// The lab given in either form; nil when none was.
    var name: String? { positional ?? option.lab }

    func validate() throws {
        if let positional, let named = option.lab, positional != named {
            throw ValidationError("the lab is given twice, as \"\(positional)\" and as --lab \(named); give it once")
        }
        try validateLabName(positional)
    }

    /// The lab meant: the one given, or the only one up.
    func resolve() throws -> String { try LabController.resolveLab(name) }
}
