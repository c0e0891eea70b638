import Glibc
import LabAddress

/// Changes to one namespace, queued and sent to the kernel many to a `send` over the
/// namespace's `RouteSocket` — the verbs and errors of `RouteSocket`, at a fraction of the
/// system calls. Used by one thread at a time (the socket it sends on may be shared).
///
/// Nothing queued exists until `flush` (or a full batch) sends it: a caller whose next step
/// depends on a queued change from *another* namespace — a pod addressing the `eth0` that its
/// node's veth request creates — flushes first. Within this namespace that is done here: a verb
/// that needs a link's index flushes the queue before looking the link up, since the link may be
/// one of the queued requests.
///
/// Link indexes, once looked up, are remembered for the life of the batch: an apply creates
/// links and never deletes them, so `cni0` is looked up once per node, not once per pod.
public final class RouteBatch {
    public let socket: RouteSocket
    private var pending = NetlinkBatch()
    private var linkIndexes: [String: Int32] = [:]

    public init(socket: RouteSocket) {
        self.socket = socket
    }

    /// Requests queued and not sent yet.
    public var pendingCount: Int { pending.count }

    /// Sends what is queued, in one datagram, and throws the first failure (as `RouteSocket`
    /// would have thrown it). The queue is empty afterwards either way; after a failure the
    /// requests that followed the failed one may have been applied too.
    public func flush() throws {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending = NetlinkBatch()
        try socket.socket.exchange(batch)
    }

    /// Equivalent to: `ip link add NAME [address MAC] [mtu N] type bridge`
    public func addBridge(name: String, mtu: Int?, mac: MACAddress?) throws {
        try enqueue(.addBridge(name: name, mtu: mtu, mac: mac))
    }

    /// Equivalent to: `ip link add NAME … type veth peer name PEER … netns PEERNS` (see
    /// `RouteSocket.addVeth`); the peer namespace is kept open until the request is answered.
    public func addVeth(name: String, mac: MACAddress?, mtu: Int?, peerName: String, peerMAC: MACAddress?,
                        peerNamespace: NetworkNamespace) throws {
        try enqueue(.addVeth(name: name, mac: mac, mtu: mtu, peerName: peerName, peerMAC: peerMAC, peerNamespace: peerNamespace))
    }

    /// Equivalent to: `ip link set LINK master MASTER`
    public func setMaster(link: String, master: String) throws {
        try enqueue(.setMaster(link: link, master: master, masterIndex: index(of: master)))
    }

    /// Equivalent to: `ip link set LINK type bridge_slave hairpin on|off`
    public func setHairpin(link: String, on: Bool) throws {
        try enqueue(.setHairpin(link: link, on: on))
    }

    /// Equivalent to: `ip link set LINK up`
    public func setUp(link: String) throws {
        try enqueue(.setUp(link: link))
    }

    /// Equivalent to: `ip addr add ADDRESS/PREFIX dev LINK`
    public func addAddress(link: String, address: IPv4Address, prefixLength: Int) throws {
        try enqueue(.addAddress(link: link, linkIndex: index(of: link), address: address, prefixLength: prefixLength))
    }

    /// Equivalent to: `ip route add DEST [via GW] [dev DEV] [onlink]`
    public func addRoute(destination: IPv4Network, gateway: IPv4Address?, device: String?, onlink: Bool) throws {
        let deviceIndex = try device.map(index(of:))
        try enqueue(.addRoute(destination: destination, gateway: gateway, device: device, deviceIndex: deviceIndex, onlink: onlink))
    }

    /// Equivalent to: `ip link add NAME … type vxlan id VNI [local IP] [dev DEV] dstport PORT [no]learning`
    public func addVxlan(name: String, vni: UInt32, port: UInt16, local: IPv4Address?, device: String?,
                         learning: Bool = false, mtu: Int?, mac: MACAddress?) throws {
        let deviceIndex = try device.map(index(of:))
        try enqueue(.addVxlan(name: name, vni: vni, port: port, local: local, deviceIndex: deviceIndex,
                              learning: learning, mtu: mtu, mac: mac))
    }

    /// Equivalent to: `ip neigh replace ADDRESS lladdr MAC dev LINK nud permanent|reachable`
    public func addNeighbor(link: String, address: IPv4Address, mac: MACAddress, permanent: Bool = true) throws {
        try enqueue(.addNeighbor(link: link, linkIndex: index(of: link), address: address, mac: mac, permanent: permanent))
    }

    /// Equivalent to: `bridge fdb append MAC dev LINK dst IP self permanent`
    public func addFDB(link: String, mac: MACAddress, destination: IPv4Address) throws {
        try enqueue(.addFDB(link: link, linkIndex: index(of: link), mac: mac, destination: destination))
    }

    private func enqueue(_ change: RouteChange) throws {
        if !pending.hasRoom(for: change) { try flush() }
        pending.append(change)
    }

    /// `ip link show NAME`'s index, after sending what is queued (it may create the link).
    private func index(of link: String) throws -> Int32 {
        if let known = linkIndexes[link] { return known }
        try flush()
        let index = try socket.linkIndex(link)
        linkIndexes[link] = index
        return index
    }
}
