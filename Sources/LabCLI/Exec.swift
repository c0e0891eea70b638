import ArgumentParser
import LabKernel
import LabRuntime

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command inside a pod, node or host of a lab.",
        discussion: """
        The command replaces `lab` (terminal, signals and exit status are its own), inside the \
        object's network namespace, the way `ip netns exec` runs it; in a pod, the hostname is \
        the pod's name.

          lab exec pod-a -- ip addr
          lab exec node/node-1 -- ip route
          lab exec laptop -- ping -c1 192.168.1.10
        """
    )

    @Option(help: "The lab (default: the only lab that is up).")
    var lab: String?

    @Argument(help: "A pod, node or host: bare (pod-a) or qualified (pod/pod-a, node/node-1, host/laptop).")
    var name: String

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the command after --, e.g. lab exec \(name) -- ip addr") }
    }

    func run() throws {
        try ErrorReporting.run {
            let topology = try LabController.topology(of: try LabController.resolveLab(lab))
            let target = try LabController.namespace(of: name, in: topology)
            try Privileges.check()
            try NamespaceExec.exec(namespace: target.namespace, argv: command, hostname: target.hostname, environment: [:])
        }
    }
}
