import CMnl
import Glibc
import LabSpec

/// One `NETLINK_ROUTE` socket opened inside a namespace and kept for many requests — the
/// kernel's cost of a change is a few microseconds, a process start is milliseconds.
///
/// Each verb has the shape of the `ip` command it replaces and says which one. Failures are
/// `KernelError`s that keep the errno (EEXIST for a duplicate, ENODEV for a missing link, …)
/// and name the namespace. Safe to share between threads: requests on one socket take turns.
public final class RouteSocket: Sendable {
    public let namespace: NetworkNamespace
    private let socket: NetlinkSocket

    /// Opens the socket inside `namespace` (one thread hop); later requests need none.
    public init(in namespace: NetworkNamespace) throws {
        self.namespace = namespace
        self.socket = try NetlinkSocket(in: namespace)
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
    public func addBridge(name: String, mtu: Int?, mac: [UInt8]?) throws {
        _ = try socket.exchange(.addBridge(name: name, mtu: mtu, mac: mac), operation: "add bridge", object: quoted(name))
    }

    /// Equivalent to: `ip link add NAME [address MAC] [mtu N] type veth peer name PEER [address PMAC] [mtu N] netns PEERNS`
    ///
    /// `NAME` is created in this socket's namespace and `PEER` directly in `peerNamespace`
    /// (never moved afterwards: a move costs ~20 ms). `mtu` applies to both ends, since a veth
    /// whose ends disagree drops the larger frames one way only.
    public func addVeth(name: String, mac: [UInt8]?, mtu: Int?, peerName: String, peerMAC: [UInt8]?, peerNamespace: NetworkNamespace) throws {
        let request = NetlinkRequest.addVeth(name: name, mac: mac, mtu: mtu, peerName: peerName, peerMAC: peerMAC,
                                             peerNamespaceFD: peerNamespace.fd)
        // The fd is read by the kernel while it handles the request, so the namespace object
        // must outlive the exchange.
        _ = try withExtendedLifetime(peerNamespace) {
            try socket.exchange(request, operation: "add veth",
                                object: "\(quoted(name)) (peer \(quoted(peerName)) in \(peerNamespace.name))")
        }
    }

    /// Equivalent to: `ip link set LINK master MASTER`
    public func setMaster(link: String, master: String) throws {
        let masterIndex = try linkIndex(master)
        _ = try socket.exchange(.setMaster(name: link, masterIndex: masterIndex), operation: "set master",
                                object: "\(quoted(link)) (master \(quoted(master)))")
    }

    /// Equivalent to: `ip link set LINK type bridge_slave hairpin on|off` — LINK must already be
    /// a bridge port (EOPNOTSUPP otherwise).
    public func setHairpin(link: String, on: Bool) throws {
        _ = try socket.exchange(.setHairpin(name: link, on: on), operation: "set hairpin \(on ? "on" : "off")", object: quoted(link))
    }

    /// Equivalent to: `ip link set LINK up`
    public func setUp(link: String) throws {
        _ = try socket.exchange(.setUp(name: link), operation: "set link up", object: quoted(link))
    }

    /// Equivalent to: `ip link set LINK mtu N`
    public func setMTU(link: String, mtu: Int) throws {
        _ = try socket.exchange(.setMTU(name: link, mtu: mtu), operation: "set mtu", object: "\(quoted(link)) (mtu \(mtu))")
    }

    // MARK: Addresses

    /// Equivalent to: `ip addr add ADDRESS/PREFIX dev LINK` (with its broadcast address).
    /// EEXIST when the link already has this address.
    public func addAddress(link: String, address: IPv4Address, prefixLength: Int) throws {
        let index = try linkIndex(link)
        _ = try socket.exchange(.addAddress(linkIndex: index, address: address, prefixLength: prefixLength),
                                operation: "add address", object: "\(address)/\(prefixLength) dev \(quoted(link))")
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
        var object = destination.prefixLength == 0 ? "default" : destination.description
        if let gateway { object += " via \(gateway)" }
        if let device { object += " dev \(quoted(device))" }
        if onlink { object += " onlink" }
        _ = try socket.exchange(.addRoute(destination: destination, gateway: gateway, outputIndex: outputIndex, onlink: onlink),
                                operation: "add route", object: object)
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
                         learning: Bool = false, mtu: Int?, mac: [UInt8]?) throws {
        let deviceIndex = try device.map(linkIndex)
        _ = try socket.exchange(.addVxlan(name: name, vni: vni, port: port, local: local, deviceIndex: deviceIndex,
                                          learning: learning, mtu: mtu, mac: mac),
                                operation: "add vxlan", object: "\(quoted(name)) (id \(vni) dstport \(port))")
    }

    /// Equivalent to: `ip neigh replace ADDRESS lladdr MAC dev LINK nud permanent` (or
    /// `nud reachable` when not `permanent`). Replaces an existing entry instead of failing.
    public func addNeighbor(link: String, address: IPv4Address, mac: [UInt8], permanent: Bool = true) throws {
        let index = try linkIndex(link)
        _ = try socket.exchange(.replaceNeighbor(linkIndex: index, address: address, mac: mac, permanent: permanent),
                                operation: "add neighbour", object: "\(address) lladdr \(formatMAC(mac)) dev \(quoted(link))")
    }

    /// Equivalent to: `bridge fdb append MAC dev LINK dst IP self permanent`
    public func addFDB(link: String, mac: [UInt8], destination: IPv4Address) throws {
        let index = try linkIndex(link)
        _ = try socket.exchange(.appendForwardingEntry(linkIndex: index, mac: mac, destination: destination),
                                operation: "add fdb entry", object: "\(formatMAC(mac)) dev \(quoted(link)) dst \(destination)")
    }
}

/// `02:42:0a:f4:01:00`, as `ip` prints it.
func formatMAC(_ bytes: [UInt8]) -> String {
    bytes.map { byte in
        let hex = String(byte, radix: 16)
        return byte < 16 ? "0" + hex : hex
    }.joined(separator: ":")
}
