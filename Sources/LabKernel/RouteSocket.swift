import CMnl
import Glibc
import LabAddress

/// One `NETLINK_ROUTE` socket opened inside a namespace and kept for many requests — the
/// kernel's cost of a change is a few microseconds, a process start is milliseconds.
///
/// Each verb has the shape of the `ip` command it replaces and says which one. Failures are
/// `KernelError`s that keep the errno (EEXIST for a duplicate, ENODEV for a missing link, …)
/// and name the namespace. Safe to share between threads: requests on one socket take turns.
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

    // MARK: Links

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

    /// Equivalent to: `ip link add NAME [address MAC] [mtu N] type bridge`
    public func addBridge(name: String, mtu: Int?, mac: MACAddress?) throws {
        try socket.exchange(.addBridge(name: name, mtu: mtu, mac: mac))
    }

    /// Equivalent to: `ip link add NAME [address MAC] [mtu N] type veth peer name PEER [address PMAC] [mtu N] netns PEERNS`
    ///
    /// `NAME` is created in this socket's namespace and `PEER` directly in `peerNamespace`
    /// (never moved afterwards: a move costs ~20 ms). `mtu` applies to both ends, since a veth
    /// whose ends disagree drops the larger frames one way only.
    public func addVeth(name: String, mac: MACAddress?, mtu: Int?, peerName: String, peerMAC: MACAddress?, peerNamespace: NetworkNamespace) throws {
        // The fd is read by the kernel while it handles the request; the change keeps the
        // namespace object alive until the ack.
        try socket.exchange(.addVeth(name: name, mac: mac, mtu: mtu, peerName: peerName, peerMAC: peerMAC,
                                     peerNamespace: peerNamespace))
    }

    /// Equivalent to: `ip link set LINK master MASTER`
    public func setMaster(link: String, master: String) throws {
        let masterIndex = try linkIndex(master)
        try socket.exchange(.setMaster(link: link, master: master, masterIndex: masterIndex))
    }

    /// Equivalent to: `ip link set LINK type bridge_slave hairpin on|off` — LINK must already be
    /// a bridge port (EOPNOTSUPP otherwise).
    public func setHairpin(link: String, on: Bool) throws {
        try socket.exchange(.setHairpin(link: link, on: on))
    }

    /// Equivalent to: `ip link set LINK up`
    public func setUp(link: String) throws {
        try socket.exchange(.setUp(link: link))
    }

    /// Equivalent to: `ip link set LINK mtu N`
    public func setMTU(link: String, mtu: Int) throws {
        try socket.exchange(.setMTU(link: link, mtu: mtu))
    }

    // MARK: Addresses

    /// Equivalent to: `ip addr add ADDRESS/PREFIX dev LINK` (with its broadcast address).
    /// EEXIST when the link already has this address.
    public func addAddress(link: String, address: IPv4Address, prefixLength: Int) throws {
        let index = try linkIndex(link)
        try socket.exchange(.addAddress(link: link, linkIndex: index, address: address, prefixLength: prefixLength))
    }

    /// Equivalent to: `ip -4 addr show` — every IPv4 address in the namespace.
    public func addresses() throws -> [AddressInfo] {
        try socket.exchange(.dumpAddresses(), operation: "list addresses", object: "")
            .compactMap(AddressInfo.init(message:))
    }

    // MARK: Routes

    /// Equivalent to: `ip route add DEST [via GW] [dev DEV] [onlink]`
    ///
    /// A nil `gateway` makes a device route (scope link, needs `device`). ENETUNREACH when the
    /// gateway is not on any connected network and `onlink` is not set; EEXIST for a duplicate.
    public func addRoute(destination: IPv4Network, gateway: IPv4Address?, device: String?, onlink: Bool) throws {
        let outputIndex = try device.map(linkIndex)
        try socket.exchange(.addRoute(destination: destination, gateway: gateway, device: device, deviceIndex: outputIndex,
                                      onlink: onlink))
    }

    /// Equivalent to: `ip route show` — the IPv4 routes of the main table.
    public func routes() throws -> [RouteInfo] {
        try socket.exchange(.dumpRoutes(), operation: "list routes", object: "")
            .compactMap(RouteInfo.init(message:))
    }

    // MARK: VXLAN overlay (flannel's layout)

    /// Equivalent to: `ip link add NAME [address MAC] [mtu N] type vxlan id VNI [local IP] [dev DEV] dstport PORT [no]learning`
    ///
    /// flannel uses VNI 1, port 8472 and `nolearning`: remote MACs are never learnt from
    /// traffic, they are written in advance with `addNeighbor` and `addFDB`.
    public func addVxlan(name: String, vni: UInt32, port: UInt16, local: IPv4Address?, device: String?,
                         learning: Bool = false, mtu: Int?, mac: MACAddress?) throws {
        let deviceIndex = try device.map(linkIndex)
        try socket.exchange(.addVxlan(name: name, vni: vni, port: port, local: local, deviceIndex: deviceIndex,
                                      learning: learning, mtu: mtu, mac: mac))
    }

    /// Equivalent to: `ip neigh replace ADDRESS lladdr MAC dev LINK nud permanent` (or
    /// `nud reachable` when not `permanent`). Replaces an existing entry instead of failing.
    public func addNeighbor(link: String, address: IPv4Address, mac: MACAddress, permanent: Bool = true) throws {
        let index = try linkIndex(link)
        try socket.exchange(.addNeighbor(link: link, linkIndex: index, address: address, mac: mac, permanent: permanent))
    }

    /// Equivalent to: `bridge fdb append MAC dev LINK dst IP self permanent`
    public func addFDB(link: String, mac: MACAddress, destination: IPv4Address) throws {
        let index = try linkIndex(link)
        try socket.exchange(.addFDB(link: link, linkIndex: index, mac: mac, destination: destination))
    }
}
