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
    /// With cluster DNS (`withResolver`), in a mount namespace of its own with the pod's
    /// `/etc/netns/<netns>/resolv.conf` bound over `/etc/resolv.conf`, as `ip netns exec` binds it.
    static func launch(_ container: ContainerTopology, pod: PodTopology, namespace: NetworkNamespace, logPath: String,
                       withResolver: Bool = false) throws -> ChildProcess {
        guard let program = container.command.first else { throw LaunchError(description: "empty command") }
        let logFD = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard logFD >= 0 else { throw LaunchError(description: "cannot open \(logPath): \(String(cString: strerror(errno)))") }
        defer { close(logFD) }

        var environment = ChildProcess.baseEnvironment.merging(["HOSTNAME": pod.name, "HOME": "/root"]) { $1 }
        for (key, value) in container.env { environment[key] = value }
        do throws(SpawnError) {
            return try ChildProcess.spawn(program: program, arguments: Array(container.command.dropFirst()), environment: environment,
                                          netns: namespace, hostname: pod.name, stdout: .descriptor(logFD), stderr: .descriptor(logFD),
                                          binds: withResolver ? [ChildProcess.BindMount(source: ResolverFiles.path(netns: pod.netns), target: "/etc/resolv.conf")] : nil)
        } catch {
            throw LaunchError(description: error.description)
        }
    }
}
