import ArgumentParser
import Foundation
import LabPlan
import LabRuntime

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a container's output.",
        discussion: """
        Containers write stdout and stderr to /run/lab/LAB/logs/POD/CONTAINER.log; this prints \
        that file. With one container in the pod, -c is not needed. The pod may be named as \
        kubectl names it, NAMESPACE/POD; the cluster DNS pod's log holds every query.

          lab logs multi-container-pod -c container-1
          lab logs web-2 -f
          lab logs kube-system/coredns -f
        """
    )

    @OptionGroup var lab: LabOption

    @Argument(help: "The pod: bare (web-2) or with its namespace (kube-system/coredns).")
    var pod: String

    @Option(name: .shortAndLong, help: "The container (default: the pod's only container).")
    var container: String?

    @Flag(name: .shortAndLong, help: "Keep printing what the container writes (Ctrl-C to stop).")
    var follow = false

    func run() throws {
        let name = try lab.resolve()
        let topology = try LabController.topology(of: name)
        let chosen = try LabController.container(container, ofPod: pod.replacingOccurrences(of: "pod/", with: ""), in: topology)
        let path = LabState(lab: name).logPath(pod: chosen.pod.name, container: chosen.container.name)
        guard let handle = FileHandle(forReadingAtPath: path) else {
            if chosen.container.isAgent {
                print("(the agent of \(chosen.pod.name) is served by the lab supervisor and writes no log)")
                return
            }
            throw RuntimeError.noLogs(path)
        }
        FileHandle.standardOutput.write(handle.readDataToEndOfFile())
        guard follow else { return }
        // Woken by each write to the log (inotify), not by a timer.
        let written = FileWatch(path: path, events: UInt32(IN_MODIFY))
        while true {
            let data = handle.availableData
            if data.isEmpty { written.wait(until: .distantFuture, slice: written == nil ? 0.2 : 60) } else { FileHandle.standardOutput.write(data) }
        }
    }
}
