import CMnl
import Glibc

/// A named network namespace: a bind mount of a namespace file under `/run/netns`, the way
/// iproute2 names them, so `ip netns list`, `ip netns exec` and `ip netns delete` see ours.
///
/// Holding an instance keeps an open descriptor of the namespace; that is what `perform` and
/// `RouteSocket` enter, and what a veth peer is created in (`IFLA_NET_NS_FD`).
public final class NetworkNamespace: Sendable {
    /// The name under `/run/netns`.
    public let name: String
    /// An open descriptor of the namespace (`O_RDONLY | O_CLOEXEC`), closed when this is freed.
    public let fd: Int32

    private init(name: String, fd: Int32) {
        self.name = name
        self.fd = fd
    }

    deinit { close(fd) }

    /// Equivalent to: `ip netns add NAME`.
    ///
    /// 1. Prepare `/run/netns` (a shared mount point, as iproute2 leaves it).
    /// 2. Create the empty file `/run/netns/NAME` with `O_EXCL`: that is the duplicate check, so
    ///    an existing namespace fails with EEXIST and is never touched.
    /// 3. On a fresh thread, `unshare(CLONE_NEWNET)` and bind-mount that thread's
    ///    `/proc/thread-self/ns/net` onto the file. The mount keeps the namespace alive after the
    ///    thread exits; the thread exiting is what leaves every other thread where it was.
    /// If step 3 fails the file is removed again.
    public static func create(_ name: String) throws -> NetworkNamespace {
        try create(name) { _ in }.namespace
    }

    /// `create`, then `body` on the thread that made the namespace, still inside it — what
    /// `create` followed by `perform` does, without a second thread and `setns`: opening the
    /// namespace's netlink socket and writing its sysctls there saves two thread hops per
    /// namespace. If `body` throws, the namespace is deleted again and the error rethrown.
    public static func create<T>(_ name: String, thenInside body: (NetworkNamespace) throws -> T) throws -> (namespace: NetworkNamespace, value: T) {
        try NamespaceDirectory.prepare()
        if let error = makePlaceholder(NamespaceDirectory.path(of: name)) {
            throw KernelError(operation: "create namespace", object: quoted(name), errno: error)
        }
        return try mountNew(name, thenInside: body)
    }

    /// The file `/run/netns/NAME` of a namespace about to be created, made ahead by
    /// `makePlaceholders`; `failure` is the errno that kept it from being made (EEXIST: a
    /// namespace of that name exists, and was not touched).
    public struct Placeholder: Sendable {
        public let name: String
        public let failure: Int32?
    }

    /// Step 2 of `create` for many namespaces at once: every file made before any namespace is
    /// mounted, the first with `O_EXCL` and the others as hard links of it (`link` fails with
    /// EEXIST as `O_EXCL` does, so the duplicate check is the same).
    ///
    /// Kernel quirk: on ext4 without a journal (this VM's root) a new inode skips every inode
    /// of its block group freed in the last seconds to minutes (`recently_deleted`), one
    /// buffer-cache lookup each, so the 1,000 files of an `up` right after a `down` cost up to
    /// half a millisecond apiece; a link makes no inode. A bind mount covers the dentry, not
    /// the inode, so each name still gets its own namespace, and `ip netns delete` (unmount,
    /// unlink) removes one link. A link that fails for another reason (EMLINK) starts a new file.
    public static func makePlaceholders(_ names: [String]) throws -> [Placeholder] {
        try NamespaceDirectory.prepare()
        var source: String?
        return names.map { name in
            let path = NamespaceDirectory.path(of: name)
            if let source, link(source, path) == 0 { return Placeholder(name: name, failure: nil) }
            if source != nil, errno == EEXIST { return Placeholder(name: name, failure: EEXIST) }
            let failure = makePlaceholder(path)
            if failure == nil { source = path }
            return Placeholder(name: name, failure: failure)
        }
    }

    /// Steps 3 and 4 of `create`, for a namespace whose file `makePlaceholders` made; the
    /// file is removed again if the namespace cannot be made.
    public static func create<T>(from placeholder: Placeholder, thenInside body: (NetworkNamespace) throws -> T) throws
        -> (namespace: NetworkNamespace, value: T) {
        if let failure = placeholder.failure {
            throw KernelError(operation: "create namespace", object: quoted(placeholder.name), errno: failure)
        }
        return try mountNew(placeholder.name, thenInside: body)
    }

    /// Creates the empty file `path` with `O_EXCL`; the errno when it cannot.
    private static func makePlaceholder(_ path: String) -> Int32? {
        let placeholder = Glibc.open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0)
        guard placeholder >= 0 else { return currentErrno() }
        close(placeholder)
        return nil
    }

    /// Step 3 of `create`, and `body` inside, on a fresh thread; the file `/run/netns/NAME`
    /// exists and is ours. It is removed again when anything fails.
    private static func mountNew<T>(_ name: String, thenInside body: (NetworkNamespace) throws -> T) throws
        -> (namespace: NetworkNamespace, value: T) {
        let path = NamespaceDirectory.path(of: name)
        var mounted = false
        do {
            return try DedicatedThread.run {
                guard lab_unshare(CLONE_NEWNET) == 0 else {
                    throw KernelError(operation: "create namespace", object: quoted(name), errno: currentErrno())
                }
                guard mount("/proc/thread-self/ns/net", path, "none", UInt(MS_BIND), nil) == 0 else {
                    throw KernelError(operation: "bind-mount namespace", object: quoted(name), errno: currentErrno())
                }
                mounted = true
                let namespace = try open(name)
                return (namespace, try body(namespace))
            }
        } catch {
            if mounted { umount2(path, Int32(MNT_DETACH)) }
            unlink(path)
            throw error
        }
    }

    /// Opens an existing named namespace (what `ip -n NAME` does first).
    public static func open(_ name: String) throws -> NetworkNamespace {
        let fd = Glibc.open(NamespaceDirectory.path(of: name), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw KernelError(operation: "open namespace", object: quoted(name), errno: currentErrno())
        }
        return NetworkNamespace(name: name, fd: fd)
    }

    /// Equivalent to: `ip netns delete NAME`.
    ///
    /// Detaches the bind mount and removes the file. The kernel frees the namespace — and with
    /// it every interface, address and route inside, in one batch — once nothing else holds it
    /// (open descriptors such as `fd`, sockets, processes); that cleanup finishes asynchronously,
    /// a fraction of a second later. A missing name throws ENOENT, which callers tearing down
    /// may ignore.
    ///
    /// Kernel quirk: that cleanup holds the host-wide rtnl lock throughout, and each bridge in
    /// the namespace costs an RCU grace period (`br_multicast_dev_del` → `rcu_barrier`, tens of
    /// milliseconds on an idle VM). A handful of bridges is nothing; thousands block every
    /// network configuration on the host — `ip`, other labs, even `getifaddrs` — for minutes.
    public static func delete(_ name: String) throws {
        let path = NamespaceDirectory.path(of: name)
        // Fails with EINVAL when the file is not mounted (a half-created namespace); the unlink
        // below still removes it, as iproute2 does.
        umount2(path, Int32(MNT_DETACH))
        guard unlink(path) == 0 else {
            throw KernelError(operation: "delete namespace", object: quoted(name), errno: currentErrno())
        }
    }

    /// Whether `/run/netns/NAME` exists.
    public static func exists(_ name: String) -> Bool {
        access(NamespaceDirectory.path(of: name), F_OK) == 0
    }

    /// Whether every one of `names` exists: one listing of `/run/netns` instead of a lookup
    /// per name, which a 1,000-pod lab's check of itself felt.
    public static func allExist(_ names: [String]) -> Bool {
        let present = Set(NamespaceDirectory.names())
        return names.allSatisfy(present.contains)
    }

    /// Equivalent to: `ip netns list` — the names under `/run/netns`, sorted.
    public static func list() -> [String] { NamespaceDirectory.names() }

    /// Runs `body` on a fresh thread that has entered this namespace with `setns(2)` and returns
    /// its result (or rethrows its error). Sockets opened and `/proc/sys/net` files read inside
    /// `body` belong to this namespace. The calling thread never changes namespace.
    public func perform<T: Sendable>(_ body: @Sendable () throws -> T) throws -> T {
        try DedicatedThread.run {
            guard lab_setns(fd, CLONE_NEWNET) == 0 else {
                throw KernelError(operation: "enter namespace", object: quoted(name), errno: currentErrno())
            }
            return try body()
        }
    }

    /// Equivalent to: `ip netns pids NAME` — the processes whose network namespace is this one,
    /// found by comparing the device and inode of `/proc/PID/ns/net` with ours. Sorted.
    public func pids() -> [Int32] {
        var own = stat()
        guard fstat(fd, &own) == 0 else { return [] }
        return NetworkNamespace.pids(in: [NamespaceFileIdentity(own)])
    }

    /// The processes inside any of the named namespaces, sorted: one pass over /proc however
    /// many namespaces there are (a pass per namespace made `lab down` of 1,000 pods take a
    /// second), and no descriptor held per namespace. A name that is gone is skipped.
    public static func pids(inNamespacesNamed names: [String]) -> [Int32] {
        var wanted = Set<NamespaceFileIdentity>()
        for name in names {
            var mounted = stat()
            // The bind mount covers the placeholder file: stat sees the namespace's nsfs inode.
            if stat(NamespaceDirectory.path(of: name), &mounted) == 0 { wanted.insert(NamespaceFileIdentity(mounted)) }
        }
        return pids(in: wanted)
    }

    private static func pids(in wanted: Set<NamespaceFileIdentity>) -> [Int32] {
        guard !wanted.isEmpty, let proc = opendir("/proc") else { return [] }
        defer { closedir(proc) }
        var found: [Int32] = []
        while let entry = readdir(proc) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            guard let pid = Int32(name) else { continue }
            var other = stat()
            // Processes come and go while we scan; one that vanished simply is not listed.
            guard stat("/proc/\(pid)/ns/net", &other) == 0 else { continue }
            if wanted.contains(NamespaceFileIdentity(other)) { found.append(pid) }
        }
        return found.sorted()
    }
}

/// A namespace as the kernel tells them apart: the device and inode of its nsfs file.
private struct NamespaceFileIdentity: Hashable {
    var device: UInt64
    var inode: UInt64

    init(_ status: stat) {
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }
}
