import CProcess
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
    static func launch(_ container: ContainerTopology, pod: PodTopology, namespace: NetworkNamespace, logPath: String) throws -> Int32 {
        guard let program = container.command.first else { throw LaunchError(description: "empty command") }
        guard let path = ProgramLookup.resolve(program) else { throw LaunchError(description: "\(program): command not found in \(ProgramLookup.basePath)") }
        let logFD = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard logFD >= 0 else { throw LaunchError(description: "cannot open \(logPath): \(String(cString: strerror(errno)))") }
        defer { close(logFD) }

        var environment = ["PATH": ProgramLookup.basePath, "HOSTNAME": pod.name, "HOME": "/root"]
        for (key, value) in container.env { environment[key] = value }
        let argv = CStringArray(container.command)
        let envp = CStringArray(environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        var step: Int32 = 0
        let pid = lab_spawn(path, argv.pointers, envp.pointers, namespace.fd, pod.name, 0, logFD, &step)
        guard pid > 0 else {
            let reason = String(cString: strerror(errno))
            throw LaunchError(description: "\(ProgramLookup.spawnStepName(step)) failed for \(program): \(reason)")
        }
        return pid
    }
}
