import LabAddress
import LabSpec

/// One kernel operation of a plan: plain data, so a plan can be printed, compared in golden
/// tests and applied by a different layer. Each case corresponds to exactly one `ip`/`sysctl`
/// command of `lab up --dry-run` and to one netlink request (or sysctl write) of `lab up`.
public enum KernelOperation: Sendable, Hashable {
    /// `ip netns add NS`
    case createNetns(String)
    /// `ip netns exec NS sysctl -qw KEY=VALUE`
    case setSysctl(netns: String, key: String, value: String)
    /// `ip -n NS link add NAME address MAC mtu N up type bridge` — created up: one request, not
    /// two.
    case addBridge(netns: String, name: String, mac: MACAddress, mtu: Int)
    /// `ip -n NS link add NAME address MAC mtu N [master BRIDGE] up type veth peer name P address PMAC mtu N netns PNS`
    /// — `NAME` created up, and already a port of `master` when given, by the request that
    /// creates the pair. The peer is set up by its own operation: the kernel cannot create it up.
    case addVeth(VethPair, master: String? = nil)
    /// `ip -n NS link set LINK master BRIDGE`
    case setMaster(netns: String, link: String, master: String)
    /// `ip -n NS link set LINK type bridge_slave hairpin on`
    case setHairpin(netns: String, link: String)
    /// `ip -n NS addr add A/P dev LINK`
    case addAddress(netns: String, link: String, address: IPv4Address, prefixLength: Int)
    /// `ip -n NS link set LINK addrgenmode none`: no IPv6 link-local address when LINK comes
    /// up (see `Planner.plan`, step 4); before its `setUp`.
    case setAddrGenModeNone(netns: String, link: String)
    /// `ip -n NS link set LINK up`
    case setUp(netns: String, link: String)
    /// `ip -n NS link set LINK down`: a fault taking a link down (its routes and neighbour
    /// entries go with it; bringing it back sets them again).
    case setDown(netns: String, link: String)
    /// `ip -n NS route add DEST via GW dev LINK [onlink]`
    case addRoute(netns: String, destination: IPv4Network, gateway: IPv4Address?, device: String?, onlink: Bool)
    /// `ip -n NS link add NAME address MAC mtu N up type vxlan id VNI local IP dev DEV dstport PORT nolearning`
    case addVxlan(netns: String, name: String, vni: UInt32, port: UInt16, local: IPv4Address, device: String, mac: MACAddress, mtu: Int)
    /// `ip -n NS neigh replace ADDRESS lladdr MAC dev LINK nud permanent`
    case addNeighbor(netns: String, link: String, address: IPv4Address, mac: MACAddress)
    /// `bridge -n NS fdb append MAC dev LINK dst IP self permanent`
    case addForwardingEntry(netns: String, link: String, mac: MACAddress, destination: IPv4Address)
    /// `ip netns exec NS iptables-restore --noflush` (or `nft -f -`) with the node's service
    /// rules: one process and one atomic transaction per node, as kube-proxy loads them.
    case loadFirewall(netns: String, loader: FirewallLoader, rules: String)
    /// `tc -n NS qdisc replace dev LINK root tbf …|netem …`: what an impaired link's end sends
    /// is shaped (replaced in place when the impairment changes).
    case replaceQdisc(netns: String, link: String, qdisc: LinkQdisc)

    // What `lab up` of a changed lab takes back (see `Reconciler`).

    /// `ip netns del NS` — with everything in it, and the far ends of its veths.
    case deleteNetns(String)
    /// `ip -n NS link del LINK` — for a veth, both ends.
    case deleteLink(netns: String, name: String)
    /// `ip -n NS link set LINK nomaster`
    case clearMaster(netns: String, link: String)
    /// `ip -n NS addr del A/P dev LINK`
    case deleteAddress(netns: String, link: String, address: IPv4Address, prefixLength: Int)
    /// `ip -n NS route del DEST [via GW] [dev LINK]`
    case deleteRoute(netns: String, destination: IPv4Network, gateway: IPv4Address?, device: String?)
    /// `ip -n NS neigh del ADDRESS dev LINK`
    case deleteNeighbor(netns: String, link: String, address: IPv4Address)
    /// `bridge -n NS fdb del MAC dev LINK dst IP self`
    case deleteForwardingEntry(netns: String, link: String, mac: MACAddress, destination: IPv4Address)
    /// `ip netns exec NS conntrack -D …`: forget flows that a changed service must not keep
    /// (kube-proxy does this for UDP, which has no connection to end).
    case flushConntrack(netns: String, filter: ConntrackFilter)
    /// `ip -n NS neigh flush to ADDRESS dev LINK`: forget a neighbour entry that may point at
    /// the address's previous owner (nothing to forget is fine).
    case forgetNeighbor(netns: String, link: String, address: IPv4Address)
    /// `tc -n NS qdisc del dev LINK root`: the link's impairment is gone (nothing there is fine).
    case deleteQdisc(netns: String, link: String)

    /// The netns the operation acts in (for a veth: where it is created).
    public var netns: String {
        switch self {
        case .createNetns(let netns): return netns
        case .setSysctl(let netns, _, _), .addBridge(let netns, _, _, _), .setMaster(let netns, _, _),
             .setHairpin(let netns, _), .addAddress(let netns, _, _, _), .setUp(let netns, _),
             .setAddrGenModeNone(let netns, _),
             .setDown(let netns, _),
             .addRoute(let netns, _, _, _, _), .addVxlan(let netns, _, _, _, _, _, _, _),
             .addNeighbor(let netns, _, _, _), .addForwardingEntry(let netns, _, _, _),
             .loadFirewall(let netns, _, _), .deleteNetns(let netns), .deleteLink(let netns, _),
             .clearMaster(let netns, _), .deleteAddress(let netns, _, _, _), .deleteRoute(let netns, _, _, _),
             .deleteNeighbor(let netns, _, _), .deleteForwardingEntry(let netns, _, _, _),
             .flushConntrack(let netns, _), .forgetNeighbor(let netns, _, _),
             .replaceQdisc(let netns, _, _), .deleteQdisc(let netns, _):
            return netns
        case .addVeth(let pair, _): return pair.netns
        }
    }
}

/// The program that loads a node's firewall rules: kube-proxy's rules (and the NetworkPolicy
/// chains beside them) in one transaction, and the ipsets those chains match.
public enum FirewallLoader: String, Sendable, Hashable {
    case iptablesRestore = "iptables-restore"
    case nft
    /// `ipset restore`, before the `iptables-restore` whose rules match the sets.
    case ipset

    /// The command line, reading the rules from `file` (`-` for stdin).
    public func arguments(file: String) -> [String] {
        switch self {
        case .iptablesRestore: return ["iptables-restore", "-w", "5", "--noflush", file]
        case .nft: return ["nft", "-f", file]
        case .ipset: return ["ipset", "-exist", "-file", file, "restore"]
        }
    }

    /// The Debian package that has the program.
    public var package: String {
        switch self {
        case .iptablesRestore: return "iptables"
        case .nft: return "nftables"
        case .ipset: return "ipset"
        }
    }

    /// The extension of the file the loaded text is kept in, next to the others of its node.
    public var fileExtension: String { self == .ipset ? "ipset" : "rules" }
}

/// Which conntrack entries to delete: those of `protocol` whose original destination (and
/// port) and DNAT target match every field given — the filters kube-proxy passes to
/// `conntrack -D` when a UDP service loses an endpoint or gains its first.
public struct ConntrackFilter: Sendable, Hashable {
    public var `protocol`: String
    public var originalDestination: IPv4Address?
    public var originalDestinationPort: Int?
    public var natDestination: IPv4Address?

    public init(protocol: String, originalDestination: IPv4Address? = nil, originalDestinationPort: Int? = nil,
                natDestination: IPv4Address? = nil) {
        self.protocol = `protocol`
        self.originalDestination = originalDestination
        self.originalDestinationPort = originalDestinationPort
        self.natDestination = natDestination
    }

    /// The `conntrack` arguments after `-D`.
    public var arguments: [String] {
        var arguments = ["-p", self.protocol.lowercased()]
        if let originalDestination { arguments += ["--orig-dst", originalDestination.description] }
        if let originalDestinationPort { arguments += ["--orig-port-dst", String(originalDestinationPort)] }
        if let natDestination { arguments += ["--dst-nat", natDestination.description] }
        return arguments
    }
}
