import Glibc
import Synchronization

/// `/run/netns`, the directory whose bind mounts give network namespaces their names.
///
/// Prepared exactly as iproute2's `ip netns add` does, so `ip netns list/exec/delete` work on
/// our namespaces and theirs alike: the directory is made a mount point of its own and marked
/// shared, so a namespace unmounted here is also unmounted in every mount namespace that copied
/// it (e.g. one made by `ip netns exec`), which lets the kernel free the namespace sooner.
enum NamespaceDirectory {
    static let path = "/run/netns"

    /// Serialises preparation: two threads that both find the directory not yet a mount point
    /// would otherwise both bind-mount it, stacking two mounts. True once prepared.
    private static let preparation = Mutex(false)

    static func path(of name: String) -> String { "\(path)/\(name)" }

    /// 1. `mkdir -p /run/netns`
    /// 2. `mount --make-rshared /run/netns`; if that fails with EINVAL the directory is not a
    ///    mount point yet: `mount --rbind /run/netns /run/netns` and try again once.
    ///
    /// Done once per process: `--make-rshared` walks every mount under the directory, so
    /// repeating it for each of 1,000 new namespaces was quadratic (and holds the host's mount
    /// lock while it walks).
    static func prepare() throws {
        try preparation.withLock { prepared in
            if prepared { return }
            if mkdir(path, 0o755) != 0 {
                let error = currentErrno()
                guard error == EEXIST else {
                    throw KernelError(operation: "create directory", object: quoted(path), errno: error)
                }
            }
            var madeMountPoint = false
            while mount("", path, "none", UInt(MS_SHARED | MS_REC), nil) != 0 {
                let error = currentErrno()
                guard error == EINVAL, !madeMountPoint else {
                    throw KernelError(operation: "make shared mount", object: quoted(path), errno: error)
                }
                guard mount(path, path, "none", UInt(MS_BIND | MS_REC), nil) == 0 else {
                    throw KernelError(operation: "bind-mount", object: quoted(path), errno: currentErrno())
                }
                madeMountPoint = true
            }
            prepared = true
        }
    }

    /// The names of the entries, sorted; empty when the directory does not exist.
    static func names() -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
