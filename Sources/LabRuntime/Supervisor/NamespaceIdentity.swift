import Glibc

/// Which kernel namespace a name stood for when a container was started: the device and inode
/// of the namespace file. A pod that is deleted and created again under the same name (a
/// reconcile that replaces it) gets a new inode, so the supervisor can tell that a process or
/// socket it started is in the old namespace, not in the pod as it is now.
struct NamespaceIdentity: Hashable, Sendable {
    var device: UInt64
    var inode: UInt64

    /// Of an open namespace descriptor.
    init?(descriptor: Int32) {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        self.init(info)
    }

    /// Of `/run/netns/NAME` now; nil when it does not exist.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.init(info)
    }

    private init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}
