import Foundation
import LabKernel
import LabPlan

/// Starts one container process: inside its pod's network namespace, in a private UTS
/// namespace whose hostname is the pod name, with its own environment, output to its log.
struct ContainerLauncher {
    struct LaunchError: Error, CustomStringConvertible {
        var description: String
    }

    /// Equivalent to: `ip netns exec lab.L.pod.P unshare --uts sh -c 'hostname P; exec CMD' >> LOG 2>&1`
    ///
    /// Where the pod has files in `/etc/netns/<netns>/` (its `resolv.conf` with cluster DNS), in
    /// a mount namespace of its own with each bound over its `/etc` entry, as `ip netns exec`
    /// binds them (one whose `/etc` entry does not exist is left out, where iproute2 warns).
    static func launch(_ container: ContainerTopology, pod: PodTopology, namespace: NetworkNamespace, logPath: String) throws -> ChildProcess {
        guard let program = container.command.first else { throw LaunchError(description: "empty command") }
        let logFD = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard logFD >= 0 else { throw LaunchError(description: "cannot open \(logPath): \(String(cString: strerror(errno)))") }
        defer { close(logFD) }

        var environment = ChildProcess.baseEnvironment.merging(["HOSTNAME": pod.name, "HOME": "/root"]) { $1 }
        for (key, value) in container.env { environment[key] = value }
        let binds = NamespaceExec.etcBinds(namespace: pod.netns).filter { FileManager.default.fileExists(atPath: $0.target) }
        do throws(SpawnError) {
            return try ChildProcess.spawn(program: program, arguments: Array(container.command.dropFirst()), environment: environment,
                                          netns: namespace, hostname: pod.name, stdout: .descriptor(logFD), stderr: .descriptor(logFD),
                                          binds: binds.isEmpty ? nil : binds)
        } catch {
            throw LaunchError(description: error.description)
        }
    }
}
