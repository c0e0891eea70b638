import CMnl
import Glibc

/// Running a program inside a named network namespace in place of the current process.
public enum NamespaceExec {
    /// Equivalent to: `ip netns exec NAME ARGV...` (plus, with `hostname`, a private UTS
    /// namespace as `unshare --uts hostname H` would give).
    ///
    /// 1. `setns(CLONE_NEWNET)` into `/run/netns/NAME`.
    /// 2. Give the program a `/sys` that describes this namespace, so `/sys/class/net` lists its
    ///    interfaces, and the namespace's own `/etc` files: `unshare(CLONE_NEWNS)`, make `/` a
    ///    recursive slave (so nothing we mount propagates back to the host), detach `/sys` and
    ///    mount a fresh sysfs (read-only if the old one was), then bind each entry of
    ///    `/etc/netns/NAME/` over `/etc/<entry>` as iproute2 does (a pod's `resolv.conf`).
    ///    If any step is refused (e.g. no mount namespaces in a container) the program still
    ///    runs, with the host's `/sys` and `/etc`; a bind that fails is reported on stderr as
    ///    `ip netns exec` reports it.
    /// 3. With `hostname`: `unshare(CLONE_NEWUTS)` + `sethostname`. This one is not skipped on
    ///    failure — setting the name without a private UTS namespace would rename the host.
    /// 4. Add `environment` to the inherited environment, then `execvp`.
    /// Returns only by throwing, e.g. ENOENT for a program not on `PATH`. A failure after step 1
    /// leaves the calling thread inside the namespace: the caller is expected to report and exit.
    public static func exec(namespace: String, argv: [String], hostname: String?, environment: [String: String]) throws -> Never {
        guard let program = argv.first else {
            throw KernelError(operation: "exec", object: "(empty command)", namespace: namespace, errno: EINVAL)
        }
        let handle = try NetworkNamespace.open(namespace)
        guard lab_setns(handle.fd, CLONE_NEWNET) == 0 else {
            throw KernelError(operation: "enter namespace", object: quoted(namespace), errno: currentErrno())
        }
        if privateMountNamespace() {
            remountSysfs(tag: namespace)
            bindEtc(namespace: namespace)
        }
        if let hostname {
            guard lab_unshare(CLONE_NEWUTS) == 0 else {
                throw KernelError(operation: "unshare UTS namespace", object: "for hostname \(quoted(hostname))", namespace: namespace, errno: currentErrno())
            }
            guard sethostname(hostname, hostname.utf8.count) == 0 else {
                throw KernelError(operation: "set hostname", object: quoted(hostname), namespace: namespace, errno: currentErrno())
            }
        }
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) {
            setenv(key, value, 1)
        }
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArguments.append(nil)
        execvp(program, &cArguments)
        let error = currentErrno()
        for argument in cArguments { free(argument) }
        throw KernelError(operation: "exec", object: quoted(program), namespace: namespace, errno: error)
    }

    /// Step 2 of `exec`: a mount namespace of its own in which nothing propagates back to the
    /// host; false when the kernel refuses.
    private static func privateMountNamespace() -> Bool {
        guard lab_unshare(CLONE_NEWNS) == 0 else { return false }
        // Without this, unmounting /sys below would propagate to the host's mount namespace.
        return mount("", "/", "none", UInt(MS_SLAVE | MS_REC), nil) == 0
    }

    /// The directory `ip netns exec` binds over `/etc` for a namespace.
    public static func etcDirectory(namespace: String) -> String { "/etc/netns/\(namespace)" }

    /// The namespace's `/etc` files as iproute2's `bind_etc` binds them: each entry of
    /// `/etc/netns/NAME/` over the `/etc` entry of the same name (which must exist). The lab
    /// writes a pod's `resolv.conf` there; `lab exec` and the pod's containers both bind these.
    public static func etcBinds(namespace: String) -> [ChildProcess.BindMount] {
        let directory = etcDirectory(namespace: namespace)
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var binds: [ChildProcess.BindMount] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name != ".", name != ".." else { continue }
            binds.append(ChildProcess.BindMount(source: "\(directory)/\(name)", target: "/etc/\(name)"))
        }
        return binds.sorted { $0.target < $1.target }
    }

    /// Step 2, the namespace's `/etc` files (`etcBinds`); one that cannot be bound is said on
    /// stderr, as iproute2 says it, and the rest still are.
    private static func bindEtc(namespace: String) {
        for bind in etcBinds(namespace: namespace) where mount(bind.source, bind.target, "none", UInt(MS_BIND), nil) != 0 {
            let reason = String(cString: strerror(errno))
            let line = Array("Bind \(bind.source) -> \(bind.target) failed: \(reason)\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        }
    }

    /// Step 2 of `exec`; `tag` names the new sysfs mount (iproute2 uses the namespace name too).
    private static func remountSysfs(tag: String) {
        var flags = UInt(0)
        if umount2("/sys", Int32(MNT_DETACH)) != 0 {
            // Could not detach it: we mount over it, and a read-only sysfs cannot be shadowed by
            // a read-write one.
            var info = statvfs()
            if statvfs("/sys", &info) == 0 && info.f_flag & UInt(ST_RDONLY) != 0 { flags = UInt(MS_RDONLY) }
        }
        _ = mount(tag, "/sys", "sysfs", flags, nil)
    }
}
