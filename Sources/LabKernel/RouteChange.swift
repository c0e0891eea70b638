import LabAddress

/// One change to a namespace's links, addresses, routes or neighbours: the netlink request that
/// makes it and the words its failure is reported in. Each verb is defined here once, with the
/// `ip` command it is equivalent to; `RouteSocket.submit` is the one way any of them reaches
/// the kernel, alone or many to a datagram.
///
/// Links are named, not indexed: where the kernel wants an index (a master, an address's link,
/// a route's device), the change lists the link's name in `links` and the sender looks it up —
/// after sending what it has queued, since a queued change may be what creates the link.
public struct RouteChange {
    /// "add veth", "set master", … — what failed, in a `KernelError`.
    public let operation: String
    /// Names of the links whose indexes `build` takes, in order.
    let links: [String]
    private let build: ([Int32]) -> NetlinkRequest
    /// What the kernel reads while it handles the request (a veth's peer namespace, by fd):
    /// kept alive until the request has been answered.
    let keepAlive: NetworkNamespace?
    /// The object's words are only needed when the change fails: formatting them for every
    /// request (a MAC, an address) cost as much as the kernel's work for a permanent neighbour
    /// entry, and a lab may write 100,000 of those.
    private let describeObject: () -> String
    public var object: String { describeObject() }

    init(_ operation: String, _ object: @autoclosure @escaping () -> String, links: [String] = [],
         keepAlive: NetworkNamespace? = nil, build: @escaping ([Int32]) -> NetlinkRequest) {
        self.operation = operation
        self.describeObject = object
        self.links = links
        self.keepAlive = keepAlive
        self.build = build
    }

    /// The request, with the indexes of `links` (in order) filled in.
    func prepared(indexes: [Int32]) -> PreparedChange {
        precondition(indexes.count == links.count, "\(operation): \(links.count) link indexes needed")
        return PreparedChange(change: self, request: build(indexes))
    }
}

/// A change whose request is built, ready to be sent or queued.
struct PreparedChange {
    let change: RouteChange
    let request: NetlinkRequest
    var operation: String { change.operation }
    var object: String { change.object }
}

// MARK: Links

extension RouteChange {
    /// Equivalent to: `ip link add NAME [address MAC] [mtu N] [up] type bridge`
    public static func addBridge(name: String, mtu: Int?, mac: MACAddress?, up: Bool = false) -> RouteChange {
        RouteChange("add bridge", quoted(name)) { _ in .addBridge(name: name, mtu: mtu, mac: mac, up: up) }
    }

    /// Equivalent to: `ip link add NAME [address MAC] [mtu N] [master M] [up] type veth peer name PEER [address PMAC] [mtu N] netns PEERNS`
    ///
    /// `NAME` is created in the sending socket's namespace and `PEER` directly in
    /// `peerNetns` (never moved afterwards: a move costs ~20 ms). `mtu` applies to both
    /// ends, since a veth whose ends disagree drops the larger frames one way only. `master`
    /// and `up` (of `NAME`; the peer cannot be created up) are applied by the kernel as it
    /// creates the pair, which saves a request each.
    public static func addVeth(name: String, mac: MACAddress?, mtu: Int?, peerName: String, peerMAC: MACAddress?,
                               peerNetns: NetworkNamespace, master: String? = nil, up: Bool = false) -> RouteChange {
        var object = "\(quoted(name)) (peer \(quoted(peerName)) in \(peerNetns.name))"
        if let master { object = "\(quoted(name)) (master \(quoted(master)), peer \(quoted(peerName)) in \(peerNetns.name))" }
        return RouteChange("add veth", object, links: master.map { [$0] } ?? [], keepAlive: peerNetns) { indexes in
            .addVeth(name: name, mac: mac, mtu: mtu, peerName: peerName, peerMAC: peerMAC, peerNamespaceFD: peerNetns.fd,
                     masterIndex: indexes.first, up: up)
        }
    }

    /// Equivalent to: `ip link add NAME [address MAC] [mtu N] [up] type vxlan id VNI [local IP] [dev DEV] dstport PORT [no]learning`
    ///
    /// flannel uses VNI 1, port 8472 and `nolearning`: remote MACs are never learnt from
    /// traffic, they are written in advance with `addNeighbor` and `addFDB`.
    public static func addVxlan(name: String, vni: UInt32, port: UInt16, local: IPv4Address?, device: String?,
                                learning: Bool = false, mtu: Int?, mac: MACAddress?, up: Bool = false) -> RouteChange {
        RouteChange("add vxlan", "\(quoted(name)) (id \(vni) dstport \(port))", links: device.map { [$0] } ?? []) { indexes in
            .addVxlan(name: name, vni: vni, port: port, local: local, deviceIndex: indexes.first, learning: learning,
                      mtu: mtu, mac: mac, up: up)
        }
    }

    /// Equivalent to: `ip link set LINK master MASTER`
    public static func setMaster(link: String, master: String) -> RouteChange {
        RouteChange("set master", "\(quoted(link)) (master \(quoted(master)))", links: [master]) { indexes in
            .setMaster(name: link, masterIndex: indexes[0])
        }
    }

    /// Equivalent to: `ip link set LINK nomaster`
    public static func clearMaster(link: String) -> RouteChange {
        RouteChange("clear master", quoted(link)) { _ in .setMaster(name: link, masterIndex: 0) }
    }

    /// Equivalent to: `ip link set LINK type bridge_slave hairpin on|off` — LINK must already be
    /// a bridge port (EOPNOTSUPP otherwise).
    public static func setHairpin(link: String, on: Bool) -> RouteChange {
        RouteChange("set hairpin \(on ? "on" : "off")", quoted(link)) { _ in .setHairpin(name: link, on: on) }
    }

    /// Equivalent to: `ip link set LINK addrgenmode none` — before LINK comes up, so it never
    /// gets an IPv6 link-local address.
    public static func setAddrGenModeNone(link: String) -> RouteChange {
        RouteChange("set addrgenmode none", quoted(link)) { _ in .setAddrGenModeNone(name: link) }
    }

    /// Equivalent to: `ip link set LINK up`
    public static func setUp(link: String) -> RouteChange {
        RouteChange("set link up", quoted(link)) { _ in .setUp(name: link) }
    }

    /// Equivalent to: `ip link set LINK down`
    public static func setDown(link: String) -> RouteChange {
        RouteChange("set link down", quoted(link)) { _ in .setDown(name: link) }
    }

    /// Equivalent to: `ip link set LINK mtu N`
    public static func setMTU(link: String, mtu: Int) -> RouteChange {
        RouteChange("set mtu", "\(quoted(link)) (mtu \(mtu))") { _ in .setMTU(name: link, mtu: mtu) }
    }

    /// Equivalent to: `ip link del LINK` — ENODEV when it is gone.
    public static func deleteLink(_ link: String) -> RouteChange {
        RouteChange("delete link", quoted(link)) { _ in .deleteLink(name: link) }
    }
}

// MARK: Addresses, routes, neighbours

extension RouteChange {
    /// Equivalent to: `ip addr add ADDRESS/PREFIX dev LINK` (with its broadcast address).
    /// EEXIST when the link already has this address.
    public static func addAddress(link: String, address: IPv4Address, prefixLength: Int) -> RouteChange {
        onLink(link, "add address", "\(address)/\(prefixLength) dev \(quoted(link))") {
            .addAddress(linkIndex: $0, address: address, prefixLength: prefixLength)
        }
    }

    /// Equivalent to: `ip addr del ADDRESS/PREFIX dev LINK` — EADDRNOTAVAIL when it is not there.
    public static func deleteAddress(link: String, address: IPv4Address, prefixLength: Int) -> RouteChange {
        onLink(link, "delete address", "\(address)/\(prefixLength) dev \(quoted(link))") {
            .deleteAddress(linkIndex: $0, address: address, prefixLength: prefixLength)
        }
    }

    /// Equivalent to: `ip route add DEST [via GW] [dev DEV] [onlink]`
    ///
    /// A nil `gateway` makes a device route (scope link, needs `device`). ENETUNREACH when the
    /// gateway is not on any connected network and `onlink` is not set; EEXIST for a duplicate.
    public static func addRoute(destination: IPv4Network, gateway: IPv4Address?, device: String?, onlink: Bool) -> RouteChange {
        let object = routeWords(destination, gateway, device) + (onlink ? " onlink" : "")
        return RouteChange("add route", object, links: device.map { [$0] } ?? []) { indexes in
            .addRoute(destination: destination, gateway: gateway, outputIndex: indexes.first, onlink: onlink)
        }
    }

    /// Equivalent to: `ip route del DEST [via GW] [dev DEV]` — ESRCH when there is no such route.
    public static func deleteRoute(destination: IPv4Network, gateway: IPv4Address?, device: String?) -> RouteChange {
        RouteChange("delete route", routeWords(destination, gateway, device), links: device.map { [$0] } ?? []) { indexes in
            .deleteRoute(destination: destination, gateway: gateway, outputIndex: indexes.first)
        }
    }

    /// Equivalent to: `ip neigh replace ADDRESS lladdr MAC dev LINK nud permanent` (or
    /// `nud reachable` when not `permanent`). Replaces an existing entry instead of failing.
    public static func addNeighbor(link: String, address: IPv4Address, mac: MACAddress, permanent: Bool = true) -> RouteChange {
        onLink(link, "add neighbour", "\(address) lladdr \(mac) dev \(quoted(link))") {
            .replaceNeighbor(linkIndex: $0, address: address, mac: mac, permanent: permanent)
        }
    }

    /// Equivalent to: `ip neigh del ADDRESS dev LINK` — ENOENT when there is no such entry.
    public static func deleteNeighbor(link: String, address: IPv4Address) -> RouteChange {
        onLink(link, "delete neighbour", "\(address) dev \(quoted(link))") {
            .deleteNeighbor(linkIndex: $0, address: address)
        }
    }

    /// Equivalent to: `bridge fdb append MAC dev LINK dst IP self permanent`
    public static func addFDB(link: String, mac: MACAddress, destination: IPv4Address) -> RouteChange {
        onLink(link, "add fdb entry", "\(mac) dev \(quoted(link)) dst \(destination)") {
            .appendForwardingEntry(linkIndex: $0, mac: mac, destination: destination)
        }
    }

    /// Equivalent to: `bridge fdb del MAC dev LINK dst IP self` — ENOENT when there is no such entry.
    public static func deleteFDB(link: String, mac: MACAddress, destination: IPv4Address) -> RouteChange {
        onLink(link, "delete fdb entry", "\(mac) dev \(quoted(link)) dst \(destination)") {
            .deleteForwardingEntry(linkIndex: $0, mac: mac, destination: destination)
        }
    }

    /// A change to something on one link, which the request names by index.
    private static func onLink(_ link: String, _ operation: String, _ object: @autoclosure @escaping () -> String,
                               build: @escaping (Int32) -> NetlinkRequest) -> RouteChange {
        RouteChange(operation, object(), links: [link]) { build($0[0]) }
    }

    /// `default via 10.244.1.1 dev "eth0"`
    private static func routeWords(_ destination: IPv4Network, _ gateway: IPv4Address?, _ device: String?) -> String {
        var object = destination.prefixLength == 0 ? "default" : destination.description
        if let gateway { object += " via \(gateway)" }
        if let device { object += " dev \(quoted(device))" }
        return object
    }
}
