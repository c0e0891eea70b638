import CProcess
import Glibc

/// Finding a program the way every process `lab` starts finds it (containers, exec probes,
/// firewall tools, doctor's checks), and naming the step where a `lab_spawn` stopped.
public enum ProgramLookup {
    /// What every container gets before its own `env`: a fixed PATH and the pod's hostname,
    /// never the environment `lab up` happened to run with.
    public static let basePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// `argv[0]` as execvp would find it, looked up before fork (the child may not allocate).
    public static func resolve(_ program: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        for directory in basePath.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    public static func spawnStepName(_ step: Int32) -> String {
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
