import ArgumentParser

/// The root command: `lab <subcommand>`.
public struct LabCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Build Kubernetes-style network labs out of real kernel objects, verify them, tear them down.",
        discussion: """
        A lab file describes nodes, pods, services and external hosts; `lab up` builds them on this \
        host as network namespaces, veth pairs, bridges and routes, laid out the way a CNI bridge \
        plugin and kube-proxy lay out a real node. Nothing is created in the host's own network \
        namespace.

          lab up labs/demo.yaml        build the demo lab (needs root)
          lab verify                   run the lab's probes (exit 1 if one fails)
          lab status                   what is up, with every address
          lab exec pod-a -- ip route   look around inside a pod, node or host
          lab logs web-2               a container's output
          lab trace pod-a service/web  the path of one packet: the model's, and the kernel's
          lab fault down node/node-2   break it on purpose (see lab fault --help)
          lab graph --format svg -o lab.svg   the lab as a picture (also from a file, no root)
          lab down                     remove everything the lab created

        A command that works on one lab takes it as --lab LAB, by default the only lab that is \
        up; down, status and verify also take it as their argument: `lab status demo` is \
        `lab status --lab demo`.

        Exit codes: 0 success, 1 an operation failed, 2 invalid lab file, 3 missing privilege \
        or kernel feature, 64 bad usage.
        """,
        subcommands: [Up.self, Down.self, Verify.self, Status.self, List.self, Exec.self, Logs.self, Trace.self, FaultCommand.self, Graph.self, Validate.self, DoctorCommand.self, Supervise.self]
    )

    public init() {}
}
