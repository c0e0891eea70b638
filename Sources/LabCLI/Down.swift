import ArgumentParser
import LabRuntime
import LabSpec

struct Down: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove every kernel object of a lab.",
        discussion: """
        Deletes the lab's namespaces (every interface, address and route inside goes with them) \
        and its state in /run/lab/LAB. Works after a crash or with the state directory gone: \
        namespaces are also found by their name prefix `lab.LAB.`.

          lab down            the only lab that is up
          lab down demo       (or: lab down --lab demo)
          lab down --all
        """
    )

    @OptionGroup var lab: LabArgument

    @Flag(help: "Remove every lab on this host.")
    var all = false

    func validate() throws {
        if all, lab.name != nil { throw ValidationError("give a lab name or --all, not both") }
    }

    func run() throws {
        let labs: [String]
        if all {
            labs = LabController.labsUp()
            if labs.isEmpty { print("no lab is up; nothing to remove") }
        } else if let lab = lab.name {
            labs = [lab]
        } else {
            let up = LabController.labsUp()
            if up.isEmpty {
                print("no lab is up; nothing to remove")
                return
            }
            labs = [try LabController.resolveLab(nil)]
        }
        for lab in labs {
            let progress = ProgressLine.start(verb: "down", lab: lab)
            let downed = Result {
                try LabController.down(lab: lab) {
                    let notice = { ErrorReporting.printError("lab: another lab up/down of lab \(lab) is running; waiting for it") }
                    if let progress { progress.interject(notice) } else { notice() }
                }
            }
            progress?.stop()
            let result = try downed.get()
            if result.namespaces == 0 && !result.hadState {
                print("lab \(lab) is not up; nothing to remove")
            } else {
                print("lab \(lab) is down: removed \(result.namespaces) namespaces\(result.hadState ? " and its state" : " (its state was already gone)")")
            }
        }
    }
}
