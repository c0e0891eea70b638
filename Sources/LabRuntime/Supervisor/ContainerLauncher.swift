import CProcess
import Foundation
import LabKernel
import LabPlan

/// Starts one container process: inside its pod's network namespace, in a private UTS
/// namespace whose hostname is the pod name, with its own environment, output to its log.
struct ContainerLauncher {
    /// What every container gets before its own `env`: a fixed PATH and the pod's hostname,
    /// never the environment `lab up` happened to run with.
    static let basePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    struct LaunchError: Error, CustomStringConvertible {
        var description: String
    }

    /// Equivalent to: `ip netns exec lab.L.pod.P unshare --uts sh -c 'hostname P; exec CMD' >> LOG 2>&1`
    static func launch(_ container: ContainerTopology, pod: PodTopology, namespace: NetworkNamespace, logPath: String) throws -> Int32 {
        guard let program = container.command.first else { throw LaunchError(description: "empty command") }
        guard let path = resolve(program) else { throw LaunchError(description: "\(program): command not found in \(basePath)") }
        let logFD = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard logFD >= 0 else { throw LaunchError(description: "cannot open \(logPath): \(String(cString: strerror(errno)))") }
        defer { close(logFD) }

        var environment = ["PATH": basePath, "HOSTNAME": pod.name, "HOME": "/root"]
        for (key, value) in container.env { environment[key] = value }
        let argv = CStringArray(container.command)
        let envp = CStringArray(environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        var step: Int32 = 0
        let pid = lab_spawn(path, argv.pointers, envp.pointers, namespace.fd, pod.name, 0, logFD, &step)
        guard pid > 0 else {
            let reason = String(cString: strerror(errno))
            throw LaunchError(description: "\(stepName(step)) failed for \(program): \(reason)")
        }
        return pid
    }

    /// `argv[0]` as execvp would find it, looked up before fork (the child may not allocate).
    static func resolve(_ program: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        for directory in basePath.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    static func stepName(_ step: Int32) -> String {
        switch UInt32(step) {
        case LAB_SPAWN_FORK.rawValue: return "fork"
        case LAB_SPAWN_SETNS.rawValue: return "entering the pod's network namespace"
        case LAB_SPAWN_UNSHARE_UTS.rawValue: return "creating the pod's UTS namespace"
        case LAB_SPAWN_SETHOSTNAME.rawValue: return "setting the hostname"
        case LAB_SPAWN_REDIRECT.rawValue: return "redirecting output"
        default: return "exec"
        }
    }
}
