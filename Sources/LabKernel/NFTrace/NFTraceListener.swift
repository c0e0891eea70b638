import CMnl
import Glibc

/// A listener for nf_tables trace events in one network namespace: a `NETLINK_NETFILTER`
/// socket that joined `NFNLGRP_NFTRACE`. Equivalent to `ip netns exec NS nft monitor trace`.
///
/// Trace events are delivered in the namespace that raised them only, so a trace across
/// namespaces needs one listener in each. The socket is created inside the namespace (one
/// thread hop) and read from any thread afterwards. The kernel builds events only while some
/// socket of the namespace is in the group, so closing it (deinit) stops the work.
public final class NFTraceListener: @unchecked Sendable {
    private let netlink: NetfilterNetlink
    public var namespace: String { netlink.namespace }

    /// `NETLINK_NETFILTER` (linux/netlink.h) and `NFNLGRP_NFTRACE` (linux/netfilter/nfnetlink.h).
    static let netlinkNetfilter: Int32 = 12
    static let traceGroup: UInt32 = 9

    /// 1. `socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK, NETLINK_NETFILTER)` inside `namespace`.
    /// 2. Bind it with the group's bit set (group 9 → bit 8), the way `nft monitor` joins.
    /// 3. A 4 MiB receive buffer: a packet through kube-proxy's chains raises dozens of events
    ///    in one burst, and an overrun would lose some (ENOBUFS).
    public init(in namespace: NetworkNamespace) throws {
        netlink = try NetfilterNetlink(in: namespace, nonBlocking: true, receiveBuffer: 4 << 20,
                                       groups: 1 << (NFTraceListener.traceGroup - 1),
                                       bindOperation: "join NFNLGRP_NFTRACE", object: "trace listener")
    }

    /// The descriptor, for waiting on several listeners with poll(2).
    public var fileDescriptor: Int32 { mnl_socket_get_fd(netlink.socket) }

    /// Every event queued now, without waiting. Messages that are not trace events are skipped.
    public func drain() throws -> [NFTraceEvent] {
        var events: [NFTraceEvent] = []
        while true {
            switch netlink.receive() {
            case .success(let messages):
                events += messages.compactMap(NFTraceEvent.decode)
            case .failure(let error) where error.code == EAGAIN || error.code == EWOULDBLOCK:
                return events
            case .failure(let error):
                throw KernelError(operation: "read trace events", object: "NFNLGRP_NFTRACE", namespace: namespace, errno: error.code)
            }
        }
    }
}
