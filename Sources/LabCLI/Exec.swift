import ArgumentParser
import LabKernel
import LabRuntime

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command inside a pod, node or host of a lab.",
        discussion: """
        The command replaces `lab` (terminal, signals and exit status are its own), inside the \
        object's network namespace, the way `ip netns exec` runs it; in a pod, the hostname is \
        the pod's name, and with -c the container's `env` is added. As with `ip netns exec`, the \
        files under /etc/netns/NAMESPACE/ (a pod's resolv.conf for the cluster DNS) are bound \
        over /etc in a mount namespace of the command's own. Containers of a pod share its \
        network namespace, so every container sees the same interfaces and localhost.

          lab exec pod-a -- ip addr
          lab exec pod-a -- getent hosts web.default
          lab exec --lab demo pod-a -- ip addr      when several labs are up
          lab exec node/node-1 -- ip route
          lab exec laptop -- ping -c1 192.168.1.10
          lab exec multi-container-pod -c container-1 -- curl -s http://127.0.0.1:8080/hostname
        """
    )

    @OptionGroup var lab: LabOption

    @Argument(help: "A pod, node or host: bare (pod-a) or qualified (pod/pod-a, kube-system/coredns, node/node-1, host/laptop).")
    var name: String

    @Option(name: .shortAndLong, help: "Run with this container's environment (pods only).")
    var container: String?

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the command after --, e.g. lab exec \(name) -- ip addr") }
    }

    func run() throws {
        let topology = try LabController.topology(of: try lab.resolve())
        let target = try LabController.namespace(of: name, in: topology)
        var environment: [String: String] = [:]
        if let container {
            environment = try LabController.container(container, ofPod: target.hostname ?? name, in: topology).container.env
        }
        try Privileges.check()
        try NamespaceExec.exec(namespace: target.namespace, argv: command, hostname: target.hostname, environment: environment)
    }
}
