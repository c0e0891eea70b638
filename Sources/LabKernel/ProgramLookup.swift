import Glibc

/// Finding a program the way every process `lab` starts finds it (containers, exec probes,
/// firewall tools, doctor's checks): in a fixed PATH, never the one `lab` happened to run with.
public enum ProgramLookup {
    /// What every process `lab` starts gets as PATH (`ChildProcess.baseEnvironment`).
    public static let basePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// `program` as execvp would find it in `basePath`, looked up before fork (the child may
    /// not allocate); a name with a `/` is taken as it is, if executable.
    ///
    /// Equivalent to: `PATH=BASEPATH command -v PROGRAM`
    public static func resolve(_ program: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        for directory in basePath.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
