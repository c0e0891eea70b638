import LabAddress

/// One change request together with the words its failure is reported in: the same value is
/// sent alone by `RouteSocket` and queued by `RouteBatch`, so a batched apply names a failed
/// operation, object and namespace exactly as the one-request-at-a-time path does.
///
/// Link indexes are arguments, not looked up here: the caller decides whether an index comes
/// from a fresh `ip link show` (RouteSocket) or from what a batch already learnt.
struct RouteChange {
    let request: NetlinkRequest
    let operation: String
    /// What the kernel reads while it handles the request (a veth's peer namespace, by fd):
    /// kept alive until the request has been answered.
    var keepAlive: NetworkNamespace?
    /// The object's words are only needed when the change fails: formatting them for every
    /// request (a MAC, an address) cost as much as the kernel's work for a permanent neighbour
    /// entry, and a lab may write 100,000 of those.
    private let describeObject: () -> String
    var object: String { describeObject() }

    init(request: NetlinkRequest, operation: String, object: @autoclosure @escaping () -> String,
         keepAlive: NetworkNamespace? = nil) {
        self.request = request
        self.operation = operation
        self.describeObject = object
        self.keepAlive = keepAlive
    }

    /// `ip link add NAME [address MAC] [mtu N] type bridge`
    static func addBridge(name: String, mtu: Int?, mac: MACAddress?) -> RouteChange {
        RouteChange(request: .addBridge(name: name, mtu: mtu, mac: mac), operation: "add bridge", object: quoted(name))
    }

    /// `ip link add NAME … type veth peer name PEER … netns PEERNS`
    static func addVeth(name: String, mac: MACAddress?, mtu: Int?, peerName: String, peerMAC: MACAddress?,
                        peerNamespace: NetworkNamespace) -> RouteChange {
        RouteChange(request: .addVeth(name: name, mac: mac, mtu: mtu, peerName: peerName, peerMAC: peerMAC,
                                      peerNamespaceFD: peerNamespace.fd),
                    operation: "add veth", object: "\(quoted(name)) (peer \(quoted(peerName)) in \(peerNamespace.name))",
                    keepAlive: peerNamespace)
    }

    /// `ip link set LINK master MASTER`
    static func setMaster(link: String, master: String, masterIndex: Int32) -> RouteChange {
        RouteChange(request: .setMaster(name: link, masterIndex: masterIndex), operation: "set master",
                    object: "\(quoted(link)) (master \(quoted(master)))")
    }

    /// `ip link set LINK type bridge_slave hairpin on|off`
    static func setHairpin(link: String, on: Bool) -> RouteChange {
        RouteChange(request: .setHairpin(name: link, on: on), operation: "set hairpin \(on ? "on" : "off")", object: quoted(link))
    }

    /// `ip link set LINK up`
    static func setUp(link: String) -> RouteChange {
        RouteChange(request: .setUp(name: link), operation: "set link up", object: quoted(link))
    }

    /// `ip link set LINK mtu N`
    static func setMTU(link: String, mtu: Int) -> RouteChange {
        RouteChange(request: .setMTU(name: link, mtu: mtu), operation: "set mtu", object: "\(quoted(link)) (mtu \(mtu))")
    }

    /// `ip addr add ADDRESS/PREFIX dev LINK`
    static func addAddress(link: String, linkIndex: Int32, address: IPv4Address, prefixLength: Int) -> RouteChange {
        RouteChange(request: .addAddress(linkIndex: linkIndex, address: address, prefixLength: prefixLength),
                    operation: "add address", object: "\(address)/\(prefixLength) dev \(quoted(link))")
    }

    /// `ip route add DEST [via GW] [dev DEV] [onlink]`
    static func addRoute(destination: IPv4Network, gateway: IPv4Address?, device: String?, deviceIndex: Int32?,
                         onlink: Bool) -> RouteChange {
        var object = destination.prefixLength == 0 ? "default" : destination.description
        if let gateway { object += " via \(gateway)" }
        if let device { object += " dev \(quoted(device))" }
        if onlink { object += " onlink" }
        return RouteChange(request: .addRoute(destination: destination, gateway: gateway, outputIndex: deviceIndex, onlink: onlink),
                           operation: "add route", object: object)
    }

    /// `ip link add NAME … type vxlan id VNI [local IP] [dev DEV] dstport PORT [no]learning`
    static func addVxlan(name: String, vni: UInt32, port: UInt16, local: IPv4Address?, deviceIndex: Int32?,
                         learning: Bool, mtu: Int?, mac: MACAddress?) -> RouteChange {
        RouteChange(request: .addVxlan(name: name, vni: vni, port: port, local: local, deviceIndex: deviceIndex,
                                       learning: learning, mtu: mtu, mac: mac),
                    operation: "add vxlan", object: "\(quoted(name)) (id \(vni) dstport \(port))")
    }

    /// `ip neigh replace ADDRESS lladdr MAC dev LINK nud permanent|reachable`
    static func addNeighbor(link: String, linkIndex: Int32, address: IPv4Address, mac: MACAddress, permanent: Bool) -> RouteChange {
        RouteChange(request: .replaceNeighbor(linkIndex: linkIndex, address: address, mac: mac, permanent: permanent),
                    operation: "add neighbour", object: "\(address) lladdr \(mac) dev \(quoted(link))")
    }

    /// `bridge fdb append MAC dev LINK dst IP self permanent`
    static func addFDB(link: String, linkIndex: Int32, mac: MACAddress, destination: IPv4Address) -> RouteChange {
        RouteChange(request: .appendForwardingEntry(linkIndex: linkIndex, mac: mac, destination: destination),
                    operation: "add fdb entry", object: "\(mac) dev \(quoted(link)) dst \(destination)")
    }
}

extension NetlinkSocket {
    /// Sends one change alone and waits for its ack.
    func exchange(_ change: RouteChange) throws {
        _ = try withExtendedLifetime(change.keepAlive) {
            try exchange(change.request, operation: change.operation, object: change.object)
        }
    }
}
