import CMnl
import Glibc
import LabAddress

/// One `NETLINK_ROUTE` socket opened inside a namespace and kept for many requests — the
/// kernel's cost of a change is a few microseconds, a process start is milliseconds.
///
/// Changes (`RouteChange`, each with the `ip` command it replaces) go through `submit`, the one
/// way they reach the kernel; the queries (`linkIndex`, `links`, `addresses`, `routes`) are
/// here too. Failures are `KernelError`s that keep the errno (EEXIST for a duplicate, ENODEV
/// for a missing link, …) and name the namespace. Safe to share between threads: requests on
/// one socket take turns.
public final class RouteSocket: Sendable {
    public let namespace: NetworkNamespace
    let socket: NetlinkSocket

    /// Opens the socket inside `namespace` (one thread hop); later requests need none.
    public init(in namespace: NetworkNamespace) throws {
        self.namespace = namespace
        self.socket = try NetlinkSocket(in: namespace)
    }

    /// Opens the socket on the calling thread, which must be inside `namespace` (the body of
    /// `NetworkNamespace.create(_:thenInside:)`): no thread hop at all.
    public init(fromThreadInside namespace: NetworkNamespace) throws {
        self.namespace = namespace
        self.socket = try NetlinkSocket(in: namespace, alreadyInside: true)
    }

    // MARK: Changes

    /// Sends `changes` in order and throws the first failure (worded as its change says).
    ///
    /// One change goes alone and its ack is awaited; several go many to a datagram
    /// (`NetlinkBatch`), which costs one `send` and one receive per datagram instead of per
    /// change. Nothing of a later change is sent before an earlier one, and a change that needs
    /// a link's index sends what is queued before looking the link up, since a queued change
    /// may be what creates it. After a failure in a datagram, the changes after the failed one
    /// in that datagram may have been applied too.
    ///
    /// `links` remembers indexes across calls, for a caller that knows no link it has looked up
    /// is deleted meanwhile (an apply that only creates); without it every index is looked up
    /// afresh. Returns how many changes went in each `send`, in order.
    @discardableResult
    public func submit(_ changes: [RouteChange], links: LinkIndexCache? = nil) throws -> [Int] {
        let known = links ?? LinkIndexCache()
        var batch = NetlinkBatch()
        var sends: [Int] = []
        for change in changes {
            var indexes: [Int32] = []
            for link in change.links {
                if let index = known.indexes[link] {
                    indexes.append(index)
                    continue
                }
                try send(&batch, counting: &sends)
                let index = try linkIndex(link)
                known.indexes[link] = index
                indexes.append(index)
            }
            let prepared = change.prepared(indexes: indexes)
            if !batch.hasRoom(for: prepared) { try send(&batch, counting: &sends) }
            batch.append(prepared)
        }
        try send(&batch, counting: &sends)
        return sends
    }

    /// `submit([change])`
    public func submit(_ change: RouteChange) throws {
        try submit([change])
    }

    private func send(_ batch: inout NetlinkBatch, counting sends: inout [Int]) throws {
        guard !batch.isEmpty else { return }
        let queued = batch
        batch = NetlinkBatch()
        sends.append(queued.count)
        if queued.count == 1, let only = queued.changes.first {
            _ = try withExtendedLifetime(only.change.keepAlive) {
                try socket.exchange(only.request, operation: only.operation, object: only.object)
            }
        } else {
            try socket.exchange(queued)
        }
    }

    // MARK: Queries

    /// Equivalent to: `ip link show NAME` — its index. ENODEV when there is no such link.
    public func linkIndex(_ name: String) throws -> Int32 {
        let messages = try socket.exchange(.getLink(name: name), operation: "find link", object: quoted(name))
        guard let link = messages.lazy.compactMap(LinkInfo.init(message:)).first else {
            throw KernelError(operation: "find link", object: quoted(name), namespace: namespace.name, errno: ENODEV)
        }
        return link.index
    }

    /// Equivalent to: `ip -d link show` — every link in the namespace, by index.
    public func links() throws -> [LinkInfo] {
        try socket.exchange(.dumpLinks(), operation: "list links", object: "")
            .compactMap(LinkInfo.init(message:))
            .sorted { $0.index < $1.index }
    }

    /// Equivalent to: `ip -4 addr show` — every IPv4 address in the namespace.
    public func addresses() throws -> [AddressInfo] {
        try socket.exchange(.dumpAddresses(), operation: "list addresses", object: "")
            .compactMap(AddressInfo.init(message:))
    }

    /// Equivalent to: `ip route show` — the IPv4 routes of the main table.
    public func routes() throws -> [RouteInfo] {
        try socket.exchange(.dumpRoutes(), operation: "list routes", object: "")
            .compactMap(RouteInfo.init(message:))
    }
}

/// Link indexes already looked up, by name, kept by a caller across `submit`s: an apply creates
/// links and never deletes them, so `cni0` is looked up once per node, not once per pod.
public final class LinkIndexCache {
    var indexes: [String: Int32] = [:]

    public init() {}
}
