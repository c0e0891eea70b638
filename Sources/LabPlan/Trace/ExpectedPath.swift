import LabAddress
import LabSpec

/// The path a packet should take, computed from the topology and the rendered service rules
/// without touching the kernel — the way `ovn-trace` walks logical flows. Each namespace makes
/// the decision its kernel would: the pod's route, the node's bridge or routing table (after
/// kube-proxy's DNAT), the fabric's bridge or routes, the VXLAN device's encapsulation. A
/// service forks the walk once per endpoint, as kube-proxy's random pick does.
///
/// Assumes what the kernel would assume for the first packet: a new connection (`ct state new`)
/// going out, an established one coming back; neighbour resolution succeeds wherever the lab
/// has the neighbour.
public enum ExpectedPath {
    public static func walk(_ flow: TraceFlow, in topology: Topology) -> ExpectedTrace {
        var walker = Walker(topology: topology, flow: flow)
        var paths: [TracePath] = []
        if let service = flow.service, let servicePort = flow.servicePort, let port = walker.proxiedPort(service, servicePort) {
            let endpoints = port.endpoints
            if endpoints.isEmpty {
                paths.append(walker.path(endpoint: nil, index: 0, of: 0))
            }
            for (index, endpoint) in endpoints.enumerated() {
                paths.append(walker.path(endpoint: endpoint, index: index, of: endpoints.count))
            }
        } else {
            paths.append(walker.path(endpoint: nil, index: 0, of: 0))
        }
        return ExpectedTrace(flow: flow, proxy: topology.proxy, mode: topology.mode, paths: paths)
    }
}

/// A packet's header fields as they change along the way.
struct TracePacket: Sendable, Hashable {
    var source: IPv4Address
    var destination: IPv4Address
    var sourcePort: Int?
    var destinationPort: Int?
    /// kube-proxy's masquerade mark (0x4000).
    var masqueradeMark = false
    /// The inner packet while this one is its VXLAN encapsulation (an array: a struct cannot
    /// hold itself).
    private var inner: [TracePacket] = []
    var encapsulated: TracePacket? {
        get { inner.first }
        set { inner = newValue.map { [$0] } ?? [] }
    }

    init(source: IPv4Address, destination: IPv4Address, sourcePort: Int?, destinationPort: Int?) {
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
    }

    func endpointText(_ address: IPv4Address, _ port: Int?) -> String { port.map { "\(address):\($0)" } ?? "\(address)" }
    var sourceText: String { endpointText(source, sourcePort) }
    var destinationText: String { endpointText(destination, destinationPort) }
}

/// Where a packet is: a namespace, and how it got there.
enum TracePlace {
    case pod(PodTopology, arrivedOn: String?)
    case node(NodeTopology, arrivedOn: String?)
    /// In the fabric, arrived on `port` of `network`'s bridge, addressed (at L2) to `nextHop`.
    case fabric(network: NetworkTopology, port: String, nextHop: IPv4Address)
    case host(HostTopology, arrivedOn: String?)
}

/// The translations a connection's conntrack entry remembers, to undo them on the reply.
struct TraceTranslation {
    var node: String
    var originalDestination: (IPv4Address, Int?)
    var translatedDestination: (IPv4Address, Int?)
    var originalSource: (IPv4Address, Int?)?
    var translatedSource: IPv4Address?
}

struct Walker {
    let topology: Topology
    let flow: TraceFlow
    /// What every node's rules share, worked out once for the whole walk, as a plan does.
    let shared: SharedNodeRules
    private var books: [String: ServiceRuleBook] = [:]
    private var layouts: [String: PolicyLayout?] = [:]

    init(topology: Topology, flow: TraceFlow) {
        self.topology = topology
        self.flow = flow
        shared = SharedNodeRules(topology: topology)
    }

    func proxiedPort(_ service: ServiceTopology, _ port: ServicePortTopology) -> ProxiedServicePort? {
        topology.nodes.first.flatMap { proxiedPort(service, port, on: $0) }
    }

    /// The service port as `node`'s rules see it.
    func proxiedPort(_ service: ServiceTopology, _ port: ServicePortTopology, on node: NodeTopology) -> ProxiedServicePort? {
        shared.ports(on: node.name).first {
            $0.name.namespace == service.namespace && $0.name.name == service.name && $0.port == port.port
                && $0.name.protocol == port.protocol.rawValue.lowercased()
        }
    }

    mutating func book(_ node: NodeTopology) -> ServiceRuleBook {
        if let book = books[node.name] { return book }
        let book = ServiceRuleBook(node: node, shared: shared)
        books[node.name] = book
        return book
    }

    /// The node's NetworkPolicy layout (nil: no policy selects a pod of it), once per node.
    mutating func policyLayout(_ node: NodeTopology) -> PolicyLayout? {
        if let known = layouts[node.name] { return known }
        let layout = shared.policyLayout(of: node)
        layouts[node.name] = layout
        return layout
    }

    // MARK: One branch

    mutating func path(endpoint: ServiceEndpoint?, index: Int, of count: Int) -> TracePath {
        let sourcePort = flow.protocol == .icmp ? nil : 40000
        var packet = TracePacket(source: flow.source.ip, destination: flow.destination, sourcePort: sourcePort, destinationPort: flow.port)
        var hops: [TraceHop] = []
        var translation: TraceTranslation?
        let start = place(of: flow.source)
        let outcome = run(from: start, packet: &packet, hops: &hops, endpoint: endpoint, index: index, of: count,
                          translation: &translation, reply: false)
        var replyHops: [TraceHop] = []
        var replyKind: String?
        var replyMatch: String?
        if translation?.translatedSource != nil {
            switch flow.protocol {
            case .tcp, .udp:
                replyMatch = "ip saddr \(packet.destination) ip daddr \(packet.source) \(flow.protocol.rawValue) sport \(packet.destinationPort ?? 0)"
            case .icmp:
                replyMatch = "ip saddr \(packet.destination) ip daddr \(packet.source) icmp type echo-reply"
            }
        }
        if case .delivered(let object, _) = outcome {
            replyKind = self.replyKind(at: object, packet: packet)
            var replyPacket = TracePacket(source: packet.destination, destination: packet.source,
                                          sourcePort: packet.destinationPort, destinationPort: packet.sourcePort)
            let from = place(ofObject: object)
            if let from {
                var unused: TraceTranslation? = translation
                _ = run(from: from, packet: &replyPacket, hops: &replyHops, endpoint: nil, index: 0, of: 0,
                        translation: &unused, reply: true)
            }
        }
        if case .dropped = outcome, let reject = hops.last, reject.verdict == "reject",
           let node = topology.nodes.first(where: { $0.netns == reject.netns }) {
            // A REJECT answers with an ICMP error sent by the node itself, from the address of
            // the device that leads back to the sender; conntrack relates it to the connection,
            // so it travels as a reply: not judged by the policy again, and un-NATed on the way
            // (the outer source becomes the address the sender aimed at).
            replyKind = "ICMP port unreachable from \(node.name) (REJECT)"
            let back = node.podCIDR.contains(packet.source) ? Naming.podBridge
                : topology.mode == .vxlan && topology.nodes.contains(where: { $0.podCIDR.contains(packet.source) }) ? Naming.vxlanDevice
                : Naming.uplink
            let sender = node.address(on: back)
            var error = TracePacket(source: sender, destination: packet.source, sourcePort: nil, destinationPort: nil)
            if translation?.translatedSource != nil {
                // The error quotes the masqueraded port, not the probe's: known by its addresses.
                replyMatch = "ip saddr \(sender) ip daddr \(packet.source) icmp type destination-unreachable"
            }
            var related = translation
            related?.originalDestination.1 = nil
            _ = run(from: .node(node, arrivedOn: nil), packet: &error, hops: &replyHops, endpoint: nil, index: 0, of: 0,
                    translation: &related, reply: true)
        }
        let branch = endpoint.map { endpoint in
            let pod = topology.pods.first { $0.ip == endpoint.ip }?.name ?? "\(endpoint.ip)"
            return "endpoint \(pod) (\(endpoint.text))"
        }
        return TracePath(branch: branch, probability: endpoint == nil ? nil : "1/\(count)",
                         endpoint: endpoint.map { ep in topology.pods.first { $0.ip == ep.ip }?.name ?? "\(ep.ip)" },
                         forward: hops, reply: replyHops, outcome: outcome, replyKind: replyKind, replyMatch: replyMatch)
    }

    func place(of endpoint: TraceEndpoint) -> TracePlace {
        place(ofObject: endpoint.name)!
    }

    func place(ofObject object: String) -> TracePlace? {
        if object.hasPrefix("node/"), let node = topology.node(named: String(object.dropFirst(5))) { return .node(node, arrivedOn: nil) }
        if object.hasPrefix("host/"), let host = topology.host(named: String(object.dropFirst(5))) { return .host(host, arrivedOn: nil) }
        if let pod = topology.pod(named: object) { return .pod(pod, arrivedOn: nil) }
        return nil
    }

    /// What the destination answers the first packet with.
    func replyKind(at object: String, packet: TracePacket) -> String {
        switch flow.protocol {
        case .icmp: return "echo reply"
        case .tcp, .udp:
            let pod = topology.pod(named: object)
            let kinds: [AgentPort.Kind] = flow.protocol == .tcp ? [.http, .tcp] : [.udp]
            let listening = pod?.containers.contains { container in
                kinds.contains { container.agentPorts($0).contains(packet.destinationPort ?? -1) }
            } ?? false
            if flow.protocol == .tcp { return listening ? "SYN-ACK" : "RST (nothing listens on \(packet.destinationPort ?? 0))" }
            return listening ? "UDP answer" : "ICMP port unreachable (nothing listens on \(packet.destinationPort ?? 0))"
        }
    }

    // MARK: The walk

    /// Moves the packet from namespace to namespace until it is delivered or stopped. Bounded:
    /// a lab's longest path (pod, node, fabric, node, pod, with an encapsulation) is far shorter.
    mutating func run(from start: TracePlace, packet: inout TracePacket, hops: inout [TraceHop], endpoint: ServiceEndpoint?,
                      index: Int, of count: Int, translation: inout TraceTranslation?, reply: Bool) -> TraceOutcome {
        var place = start
        for _ in 0..<24 {
            let next: Next
            switch place {
            case .pod(let pod, let arrivedOn):
                next = podStep(pod, arrivedOn: arrivedOn, packet: &packet, hops: &hops, translation: translation, reply: reply)
            case .host(let host, let arrivedOn):
                next = hostStep(host, arrivedOn: arrivedOn, packet: packet, hops: &hops)
            case .fabric(let network, let port, let nextHop):
                next = fabricStep(network, port: port, nextHop: nextHop, packet: packet, hops: &hops)
            case .node(let node, let arrivedOn):
                next = nodeStep(node, arrivedOn: arrivedOn, packet: &packet, hops: &hops, endpoint: endpoint,
                                index: index, of: count, translation: &translation, reply: reply)
            }
            switch next {
            case .continue(let nextPlace): place = nextPlace
            case .done(let outcome): return outcome
            }
        }
        return .dropped(object: "?", reason: "the path loops")
    }

    /// A pod: delivers what arrives for its address, drops anything else (a pod does not
    /// forward), and sends its own packet to its node's bridge or, on-link, straight to the pod
    /// of the same node that owns the next hop.
    mutating func podStep(_ pod: PodTopology, arrivedOn: String?, packet: inout TracePacket, hops: inout [TraceHop],
                          translation: TraceTranslation?, reply: Bool) -> Next {
        if let arrivedOn {
            if packet.destination == pod.ip {
                hops.append(TraceHop(netns: pod.netns, object: pod.name, in: arrivedOn,
                                     decision: "local \(pod.ip) dev eth0 table local: delivered to \(pod.name)"))
                return .done(.delivered(object: pod.name, address: packet.destinationText))
            }
            hops.append(TraceHop(netns: pod.netns, object: pod.name, in: arrivedOn, decision: "not for \(pod.ip) and a pod does not forward: dropped"))
            return .done(.dropped(object: pod.name, reason: "\(packet.destination) is not \(pod.name)'s address"))
        }
        let subnet = IPv4Network(containing: pod.ip, prefixLength: pod.prefixLength)
        let nextHop: IPv4Address
        let decision: String
        if subnet.contains(packet.destination) {
            nextHop = packet.destination
            decision = "route \(subnet) dev eth0 proto kernel scope link src \(pod.ip)"
        } else {
            nextHop = pod.gateway
            decision = "route default via \(pod.gateway) dev eth0"
        }
        hops.append(TraceHop(netns: pod.netns, object: pod.name, out: Naming.podInterface, decision: decision))
        guard let node = topology.node(named: pod.node) else { return .done(.dropped(object: pod.name, reason: "no node")) }
        if nextHop == node.bridgeAddress { return .continue(.node(node, arrivedOn: pod.veth.name)) }
        // On-link: cni0 switches the frame to the port of the pod that owns the address.
        guard let peer = topology.pods.first(where: { $0.node == node.name && $0.ip == nextHop }) else {
            hops.append(TraceHop(netns: node.netns, object: node.name, in: pod.veth.name,
                                 decision: "no ARP answer for \(nextHop) on cni0"))
            return .done(.dropped(object: node.name, reason: "no ARP answer for \(nextHop)"))
        }
        hops.append(bridgeHop(node: node, from: pod.veth.name, to: peer.veth.name, packet: &packet, reply: reply, translation: translation))
        // br_netfilter hands the bridged frame to the node's FORWARD chain, where
        // NetworkPolicy is enforced for pods of the same node too.
        if !reply {
            let policy = policyStep(node: node, hook: "FORWARD", packet: packet, in: pod.veth.name, out: peer.veth.name)
            hops += policy.hops
            if let rejected = policy.rejected { return .done(.dropped(object: node.name, reason: rejected)) }
        }
        return .continue(.pod(peer, arrivedOn: Naming.podInterface))
    }

    /// A host outside the cluster: delivers what is for it, forwards nothing, and sends its own
    /// packet into the fabric by its underlay route.
    func hostStep(_ host: HostTopology, arrivedOn: String?, packet: TracePacket, hops: inout [TraceHop]) -> Next {
        if let arrivedOn {
            if packet.destination == host.ip {
                hops.append(TraceHop(netns: host.netns, object: "host/\(host.name)", in: arrivedOn,
                                     decision: "local \(host.ip) dev eth0 table local: delivered to host/\(host.name)"))
                return .done(.delivered(object: "host/\(host.name)", address: packet.destinationText))
            }
            return .done(.dropped(object: "host/\(host.name)", reason: "a host does not forward"))
        }
        let (decision, nextHop) = underlayRoute(host, destination: packet.destination)
        hops.append(TraceHop(netns: host.netns, object: "host/\(host.name)", out: Naming.uplink, decision: decision))
        guard let network = topology.network(named: host.network) else { return .done(.dropped(object: "host/\(host.name)", reason: "no network")) }
        return .continue(.fabric(network: network, port: host.uplink.peerName, nextHop: nextHop))
    }

    /// The fabric: a frame for another machine of the network is switched to that machine's
    /// port; one for the gateway is routed, as the racks' router would.
    func fabricStep(_ network: NetworkTopology, port: String, nextHop: IPv4Address, packet: TracePacket, hops: inout [TraceHop]) -> Next {
        let fabric = topology.fabricNetns
        if nextHop != network.gateway {
            // Switched: the bridge sends the frame out of the port of the machine that owns the next hop.
            guard let machine = topology.machines.first(where: { $0.network == network.name && $0.ip == nextHop }) else {
                hops.append(TraceHop(netns: fabric, object: "fabric", in: port, decision: "no ARP answer for \(nextHop) on \(network.bridge)"))
                return .done(.dropped(object: "fabric", reason: "no ARP answer for \(nextHop)"))
            }
            hops.append(TraceHop(netns: fabric, object: "fabric", in: port, out: machine.uplink.peerName,
                                 decision: "\(network.bridge) forwards to port \(machine.uplink.peerName) (\(machine.name))"))
            return .continue(placeOf(machine: machine))
        }
        guard let (decision, outNetwork, hop) = fabricRoute(packet.destination) else {
            hops.append(TraceHop(netns: fabric, object: "fabric", in: network.bridge,
                                 decision: "no route to \(packet.destination): the fabric knows only the networks\(topology.mode == .routed ? " and the podCIDRs" : "")"))
            return .done(.dropped(object: "fabric", reason: "no route to \(packet.destination) in the fabric"))
        }
        guard let machine = topology.machines.first(where: { $0.network == outNetwork.name && $0.ip == hop }) else {
            hops.append(TraceHop(netns: fabric, object: "fabric", in: network.bridge, out: outNetwork.bridge, decision: decision))
            return .done(.dropped(object: "fabric", reason: "no ARP answer for \(hop) on \(outNetwork.bridge)"))
        }
        hops.append(TraceHop(netns: fabric, object: "fabric", in: network.bridge, out: outNetwork.bridge,
                             decision: "\(decision); \(outNetwork.bridge) forwards to port \(machine.uplink.peerName) (\(machine.name))"))
        return .continue(placeOf(machine: machine))
    }

    func placeOf(machine: any UnderlayMachine) -> TracePlace {
        if let node = machine as? NodeTopology { return .node(node, arrivedOn: Naming.uplink) }
        return .host(machine as! HostTopology, arrivedOn: Naming.uplink)
    }

    /// A node's or host's route on the underlay side: the connected network or the default route.
    func underlayRoute(_ machine: any UnderlayMachine, destination: IPv4Address) -> (String, IPv4Address) {
        let subnet = IPv4Network(containing: machine.ip, prefixLength: machine.prefixLength)
        if subnet.contains(destination) {
            return ("route \(subnet) dev eth0 proto kernel scope link src \(machine.ip)", destination)
        }
        return ("route default via \(machine.gateway) dev eth0", machine.gateway)
    }

    /// The fabric's routing table: every network connected to its bridge and, in routed mode,
    /// each podCIDR via its node.
    func fabricRoute(_ destination: IPv4Address) -> (String, NetworkTopology, IPv4Address)? {
        if let network = topology.networks.first(where: { $0.cidr.contains(destination) }) {
            return ("route \(network.cidr) dev \(network.bridge) proto kernel scope link src \(network.gateway)", network, destination)
        }
        if topology.mode == .routed, let node = topology.nodes.first(where: { $0.podCIDR.contains(destination) }),
           let network = topology.network(named: node.network) {
            return ("route \(node.podCIDR) via \(node.ip) dev \(network.bridge)", network, node.ip)
        }
        return nil
    }

    /// Where the packet goes after one place: on to the next, or nowhere (delivered or dropped).
    enum Next {
        case `continue`(TracePlace)
        case done(TraceOutcome)
    }

    /// A frame switched by a node's `cni0` between two pod ports. br_netfilter sends it
    /// through the node's IP hooks, so a reply still gets its un-DNAT here.
    func bridgeHop(node: NodeTopology, from: String, to: String, packet: inout TracePacket, reply: Bool, translation: TraceTranslation?) -> TraceHop {
        var hop = TraceHop(netns: node.netns, object: node.name, in: from, out: to,
                           decision: "\(Naming.podBridge) forwards to port \(to) (bridge fdb, same podCIDR)")
        if reply, let translation, translation.node == node.name {
            hop.nat = undoDNAT(translation, packet: &packet)
        }
        return hop
    }

    func undoDNAT(_ translation: TraceTranslation, packet: inout TracePacket) -> String {
        let before = packet.sourceText
        packet.source = translation.originalDestination.0
        packet.sourcePort = translation.originalDestination.1
        return "un-DNAT (conntrack): src \(before) → \(packet.sourceText)"
    }

    /// A node, in the order the kernel takes a packet through it; each numbered step is one
    /// function below.
    mutating func nodeStep(_ node: NodeTopology, arrivedOn: String?, packet: inout TracePacket, hops: inout [TraceHop],
                           endpoint: ServiceEndpoint?, index: Int, of count: Int,
                           translation: inout TraceTranslation?, reply: Bool) -> Next {
        let local = arrivedOn == nil
        // 1. VXLAN decapsulation.
        if let next = decapsulate(node, arrivedOn: arrivedOn, packet: &packet, hops: &hops) { return next }
        // 2. Reply of a masqueraded connection: conntrack restores the destination first (PREROUTING).
        let unSNAT = reply ? undoSNAT(node, packet: &packet, translation: translation) : nil
        // 3. kube-proxy's DNAT, for a new connection to a ClusterIP or NodePort of this node.
        if !reply, let stopped = serviceDNAT(node, arrivedOn: arrivedOn, packet: &packet, hops: &hops, endpoint: endpoint,
                                              index: index, of: count, translation: &translation) {
            return .done(.dropped(object: node.name, reason: stopped))
        }
        // 4. Route lookup on the (translated) destination: the node's own address, or a device.
        if node.addresses(mode: topology.mode).contains(packet.destination) {
            return deliverToNode(node, arrivedOn: arrivedOn, packet: &packet, hops: &hops, translation: translation,
                                 reply: reply, unSNAT: unSNAT)
        }
        let route = nodeRoute(node, arrivedOn: arrivedOn, destination: packet.destination, unSNAT: unSNAT)

        // 5. FORWARD (OUTPUT for the node's own packet): NetworkPolicy, on the addresses
        //    before masquerade.
        let policy = reply ? PolicyStep()
            : policyStep(node: node, hook: local ? "OUTPUT" : "FORWARD", packet: packet, in: arrivedOn, out: route.out)

        // 6. POSTROUTING: masquerade what kube-proxy marked; undo the DNAT on a reply.
        var postHops: [TraceHop] = []
        if !reply, book(node).hasRules {
            postHops = masqueradeHops(node: node, out: route.out, packet: &packet, translation: &translation)
        }
        var routeHop = TraceHop(netns: node.netns, object: node.name, in: arrivedOn, out: route.out, decision: route.decision)
        routeHop.nat = unSNAT
        undoDNATOfReply(node, hop: &routeHop, packet: &packet, translation: translation, reply: reply)
        hops.append(routeHop)
        hops += policy.hops
        if let rejected = policy.rejected { return .done(.dropped(object: node.name, reason: rejected)) }
        hops += postHops

        // 7. Out of the chosen device.
        return leave(node, by: route, packet: &packet, hops: &hops)
    }

    /// UDP 8472 for this node's address is decapsulated by flannel.1, and the inner packet
    /// enters the node again on that device. Nil when the packet is not VXLAN for this node.
    func decapsulate(_ node: NodeTopology, arrivedOn: String?, packet: inout TracePacket, hops: inout [TraceHop]) -> Next? {
        guard topology.mode == .vxlan, arrivedOn == Naming.uplink, let inner = packet.encapsulated, packet.destination == node.ip else {
            return nil
        }
        hops.append(TraceHop(netns: node.netns, object: node.name, in: Naming.uplink, out: Naming.vxlanDevice,
                             decision: "udp 8472 to \(node.ip) is \(Naming.vxlanDevice)'s: decapsulated",
                             encap: "vxlan decap \(packet.source) → \(packet.destination) udp 8472 vni 1"))
        packet = inner
        return .continue(.node(node, arrivedOn: Naming.vxlanDevice))
    }

    /// A reply to the address this node masqueraded to gets its original destination back; the
    /// text says so. Nil when the packet is not such a reply.
    func undoSNAT(_ node: NodeTopology, packet: inout TracePacket, translation: TraceTranslation?) -> String? {
        guard let current = translation, current.node == node.name, let translatedSource = current.translatedSource,
              packet.destination == translatedSource, let original = current.originalSource else { return nil }
        let before = packet.destinationText
        packet.destination = original.0
        packet.destinationPort = original.1
        return "un-SNAT (conntrack): dst \(before) → \(packet.destinationText)"
    }

    /// A reply crossing the node that DNATed the connection gets its source back, said on `hop`
    /// after what it already says.
    func undoDNATOfReply(_ node: NodeTopology, hop: inout TraceHop, packet: inout TracePacket, translation: TraceTranslation?, reply: Bool) {
        guard reply, let current = translation, current.node == node.name else { return }
        let undo = undoDNAT(current, packet: &packet)
        hop.nat = [hop.nat, undo].compactMap { $0 }.joined(separator: "; ")
    }

    /// kube-proxy's nat rules for the first packet of a connection to this node's ClusterIP or
    /// NodePort, remembered as the connection's translation. Returns why the packet stops
    /// (a service without endpoints), or nil.
    mutating func serviceDNAT(_ node: NodeTopology, arrivedOn: String?, packet: inout TracePacket, hops: inout [TraceHop],
                              endpoint: ServiceEndpoint?, index: Int, of count: Int, translation: inout TraceTranslation?) -> String? {
        guard let service = flow.service, let servicePort = flow.servicePort, translation == nil,
              matchesService(node: node, packet: packet, servicePort: servicePort) else { return nil }
        let hook = arrivedOn == nil ? "OUTPUT" : "PREROUTING"
        let result = serviceHops(node: node, hook: hook, service: service, servicePort: servicePort, packet: &packet,
                                 endpoint: endpoint, index: index, of: count, arrivedOn: arrivedOn)
        hops += result.hops
        if let original = result.originalDestination {
            translation = TraceTranslation(node: node.name, originalDestination: original,
                                           translatedDestination: (packet.destination, packet.destinationPort))
            return nil
        }
        return result.stopped
    }

    /// Delivery to the node itself, after its INPUT chain's NetworkPolicy for a first packet.
    mutating func deliverToNode(_ node: NodeTopology, arrivedOn: String?, packet: inout TracePacket, hops: inout [TraceHop],
                                translation: TraceTranslation?, reply: Bool, unSNAT: String?) -> Next {
        if !reply {
            let policy = policyStep(node: node, hook: "INPUT", packet: packet, in: arrivedOn, out: nil)
            hops += policy.hops
            if let rejected = policy.rejected { return .done(.dropped(object: node.name, reason: rejected)) }
        }
        var hop = TraceHop(netns: node.netns, object: node.name, in: arrivedOn,
                           decision: "local \(packet.destination) table local: delivered to node \(node.name)")
        hop.nat = unSNAT
        undoDNATOfReply(node, hop: &hop, packet: &packet, translation: translation, reply: reply)
        hops.append(hop)
        return .done(.delivered(object: "node/\(node.name)", address: packet.destinationText))
    }

    /// The route a node picks for a packet it forwards or sends: the device it leaves by, the
    /// next hop on that device, and, for VXLAN, the node at the tunnel's far end.
    struct NodeRoute {
        var decision: String
        var out: String
        var nextHop: IPv4Address
        var vxlanPeer: NodeTopology?
    }

    /// The node's routing table: its own podCIDR on cni0, another node's podCIDR (via that node,
    /// the gateway, or flannel.1), else the underlay.
    func nodeRoute(_ node: NodeTopology, arrivedOn: String?, destination: IPv4Address, unSNAT: String?) -> NodeRoute {
        var route: NodeRoute
        if node.podCIDR.contains(destination) {
            route = NodeRoute(decision: "route \(node.podCIDR) dev \(Naming.podBridge) proto kernel scope link src \(node.bridgeAddress)",
                              out: Naming.podBridge, nextHop: destination)
        } else if let remote = topology.nodes.first(where: { $0.name != node.name && $0.podCIDR.contains(destination) }) {
            switch topology.mode {
            case .routed:
                let nextHop = remote.network == node.network ? remote.ip : node.gateway
                route = NodeRoute(decision: "route \(remote.podCIDR) via \(nextHop) dev \(Naming.uplink)", out: Naming.uplink, nextHop: nextHop)
            case .vxlan:
                route = NodeRoute(decision: "route \(remote.podCIDR) via \(remote.podCIDR.address) dev \(Naming.vxlanDevice) onlink",
                                  out: Naming.vxlanDevice, nextHop: remote.podCIDR.address, vxlanPeer: remote)
            }
        } else {
            let (decision, nextHop) = underlayRoute(node, destination: destination)
            route = NodeRoute(decision: decision, out: Naming.uplink, nextHop: nextHop)
        }
        if unSNAT == nil, route.out == Naming.podBridge, let arrivedOn, arrivedOn.hasPrefix("veth") {
            // From a pod to a pod of the same podCIDR through the gateway (after DNAT): routed
            // back out of cni0.
            route.decision += " (routed: the frame was for \(Naming.podBridge)'s own address)"
        }
        return route
    }

    /// Out of the device the route chose: cni0 to the pod that owns the next hop, flannel.1
    /// encapsulated to the remote node, or the uplink into the fabric.
    func leave(_ node: NodeTopology, by route: NodeRoute, packet: inout TracePacket, hops: inout [TraceHop]) -> Next {
        let object = node.name
        let netns = node.netns
        let nextHop = route.nextHop
        switch route.out {
        case Naming.podBridge:
            guard let pod = topology.pods.first(where: { $0.node == node.name && $0.ip == nextHop }) else {
                hops.append(TraceHop(netns: netns, object: object, out: Naming.podBridge, decision: "no ARP answer for \(nextHop) on \(Naming.podBridge)"))
                return .done(.dropped(object: object, reason: "no ARP answer for \(nextHop) on \(Naming.podBridge)"))
            }
            hops.append(TraceHop(netns: netns, object: object, in: Naming.podBridge, out: pod.veth.name,
                                 decision: "\(Naming.podBridge) forwards to port \(pod.veth.name) (\(pod.name))"))
            return .continue(.pod(pod, arrivedOn: Naming.podInterface))
        case Naming.vxlanDevice:
            guard let remote = route.vxlanPeer else { return .done(.dropped(object: object, reason: "no VXLAN peer")) }
            let inner = packet
            let outer = "vxlan \(node.ip) → \(remote.ip) udp 8472 vni 1"
            hops.append(TraceHop(netns: netns, object: object, in: Naming.vxlanDevice, out: Naming.uplink,
                                 decision: "neigh \(remote.podCIDR.address) lladdr \(remote.vtepMAC) PERMANENT; fdb \(remote.vtepMAC) dst \(remote.ip): encapsulated",
                                 encap: outer))
            packet = TracePacket(source: node.ip, destination: remote.ip, sourcePort: nil, destinationPort: 8472)
            packet.encapsulated = inner
            let (underlayDecision, underlayHop) = underlayRoute(node, destination: remote.ip)
            hops.append(TraceHop(netns: netns, object: object, out: Naming.uplink, decision: underlayDecision))
            guard let network = topology.network(named: node.network) else { return .done(.dropped(object: object, reason: "no network")) }
            return .continue(.fabric(network: network, port: node.uplink.peerName, nextHop: underlayHop))
        default:
            guard let network = topology.network(named: node.network) else { return .done(.dropped(object: object, reason: "no network")) }
            return .continue(.fabric(network: network, port: node.uplink.peerName, nextHop: nextHop))
        }
    }

    /// Whether kube-proxy's rules on `node` take this packet: its ClusterIP and port, or (on a
    /// node address) its NodePort.
    func matchesService(node: NodeTopology, packet: TracePacket, servicePort: ServicePortTopology) -> Bool {
        if flow.nodePort {
            return packet.destination == node.ip && packet.destinationPort == servicePort.nodePort
        }
        return packet.destination == flow.service?.clusterIP && packet.destinationPort == servicePort.port
    }

    /// The nat rules one packet takes on a node, and where they leave it: DNATed (the
    /// destination it had before), or stopped.
    struct ServiceHops {
        let node: NodeTopology
        let arrivedOn: String?
        var hops: [TraceHop] = []
        var originalDestination: (IPv4Address, Int?)?
        var stopped: String?

        init(node: NodeTopology, arrivedOn: String?) {
            self.node = node
            self.arrivedOn = arrivedOn
        }

        mutating func add(_ table: String, _ chain: String, _ rule: String?, _ decision: String, nat: String? = nil) {
            hops.append(TraceHop(netns: node.netns, object: node.name, in: arrivedOn, decision: decision,
                                 rule: rule, table: table, chain: chain, nat: nat))
        }

        /// The endpoint's address put in the destination; the rule's text says it.
        mutating func dnat(_ table: String, _ chain: String, _ rule: String?, to endpoint: ServiceEndpoint, packet: inout TracePacket) {
            let original = (packet.destination, packet.destinationPort)
            let before = packet.destinationText
            packet.destination = endpoint.ip
            packet.destinationPort = endpoint.port
            add(table, chain, rule, "DNAT to \(endpoint.text)", nat: "DNAT dst \(before) → \(packet.destinationText)")
            originalDestination = original
        }
    }

    /// The endpoint kube-proxy's rules pick for one packet to one service port (whose name
    /// holds the service's name and protocol); the same in both modes.
    struct ServicePick {
        let port: ProxiedServicePort
        let endpoint: ServiceEndpoint
        /// The numgen value that picks this endpoint (nftables).
        let index: Int
        /// "endpoint 2 of 3: web-1 (10.244.1.5:8080), probability 1/3".
        let text: String
    }

    /// kube-proxy's nat chains for the first packet, rule by rule, in the node's own words.
    mutating func serviceHops(node: NodeTopology, hook: String, service: ServiceTopology, servicePort: ServicePortTopology,
                              packet: inout TracePacket, endpoint: ServiceEndpoint?, index: Int, of count: Int,
                              arrivedOn: String?) -> ServiceHops {
        let book = self.book(node)
        var result = ServiceHops(node: node, arrivedOn: arrivedOn)
        guard book.hasRules, let port = proxiedPort(service, servicePort, on: node) else { return result }
        guard let endpoint else {
            noEndpoints(&result, book: book, service: service, servicePort: servicePort, port: port)
            return result
        }
        let pod = topology.pods.first { $0.ip == endpoint.ip }?.name ?? "\(endpoint.ip)"
        let pick = ServicePick(port: port, endpoint: endpoint, index: index,
                               text: "endpoint \(index + 1) of \(count): \(pod) (\(endpoint.text)), probability 1/\(count)")
        switch topology.proxy {
        case .iptables: iptablesServiceHops(&result, book: book, hook: hook, pick: pick, packet: &packet)
        case .nftables: nftablesServiceHops(&result, book: book, hook: hook, pick: pick, packet: &packet)
        }
        return result
    }

    /// A service port without endpoints: kube-proxy rejects the packet with ICMP port unreachable.
    func noEndpoints(_ result: inout ServiceHops, book: ServiceRuleBook, service: ServiceTopology, servicePort: ServicePortTopology,
                     port: ProxiedServicePort) {
        result.stopped = "service \(service.name) port \(servicePort.port) has no endpoints: rejected"
        switch topology.proxy {
        case .iptables:
            result.add("filter", IPTablesChainNames.services, book.iptablesRule("filter", IPTablesChainNames.services, containing: ["-d \(port.clusterIP) ", "-j REJECT"]),
                       "no endpoints: REJECT (ICMP port unreachable)")
        case .nftables:
            result.add("kube-proxy", "service-endpoints-check", book.nftRule("service-endpoints-check", containing: ["@no-endpoint-services"]),
                       "no endpoints: goto reject-chain")
        }
    }

    /// iptables mode: KUBE-SERVICES, then KUBE-NODEPORTS and KUBE-EXT-… for a NodePort, the
    /// service chain KUBE-SVC-…, and the endpoint's KUBE-SEP-… that DNATs.
    func iptablesServiceHops(_ result: inout ServiceHops, book: ServiceRuleBook, hook: String, pick: ServicePick,
                             packet: inout TracePacket) {
        let names = IPTablesChainNames.self
        let port = pick.port
        let svc = names.serviceChain(port.name)
        let sep = names.endpointChain(port.name, endpoint: pick.endpoint.text)
        result.add("nat", hook, book.iptablesRule("nat", hook, containing: ["-j \(names.services)"]), "jump to \(names.services)")
        if flow.nodePort {
            let ext = names.externalChain(port.name)
            result.add("nat", names.services, book.iptablesRule("nat", names.services, containing: ["-j \(names.nodePorts)"]),
                       "\(packet.destination) is local: jump to \(names.nodePorts)")
            result.add("nat", names.nodePorts, book.iptablesRule("nat", names.nodePorts, containing: ["--dport \(packet.destinationPort ?? 0) ", "-j \(ext)"]),
                       "NodePort \(packet.destinationPort ?? 0): jump to \(ext)")
            if !port.externalPolicyLocal {
                result.add("nat", ext, book.iptablesRule("nat", ext, containing: ["-j \(names.markMasquerade)"]),
                           "mark for masquerade (0x4000): the reply must come back through \(result.node.name)")
                packet.masqueradeMark = true
            }
            result.add("nat", ext, book.iptablesRule("nat", ext, containing: ["-j \(port.externalPolicyLocal ? names.localChain(port.name) : svc)"]),
                       "jump to \(svc)")
        } else {
            result.add("nat", names.services, book.iptablesRule("nat", names.services, containing: ["-d \(port.clusterIP) ", "--dport \(port.port) ", "-j \(svc)"]),
                       "\(port.clusterIP):\(port.port) is service \(port.name.name)'s ClusterIP: jump to \(svc)")
            if !topology.podCIDR.contains(packet.source) {
                result.add("nat", svc, book.iptablesRule("nat", svc, containing: ["-j \(names.markMasquerade)"]),
                           "source \(packet.source) is outside the cluster CIDR \(topology.podCIDR): mark for masquerade")
                packet.masqueradeMark = true
            }
        }
        result.add("nat", svc, book.iptablesRule("nat", svc, containing: ["-j \(sep)"]), pick.text)
        if packet.source == pick.endpoint.ip {
            result.add("nat", sep, book.iptablesRule("nat", sep, containing: ["-j \(names.markMasquerade)"]),
                       "hairpin: the source is the endpoint itself; mark for masquerade")
            packet.masqueradeMark = true
        }
        result.dnat("nat", sep, book.iptablesRule("nat", sep, containing: ["-j DNAT"]), to: pick.endpoint, packet: &packet)
    }

    /// nftables mode: the `services` map, then the external chain for a NodePort, the service
    /// chain's numgen, and the endpoint chain that DNATs.
    func nftablesServiceHops(_ result: inout ServiceHops, book: ServiceRuleBook, hook: String, pick: ServicePick,
                             packet: inout TracePacket) {
        let names = NFTablesChainNames.self
        let port = pick.port
        let transport = port.name.protocol
        let svc = names.serviceChain(port.name)
        let sep = names.endpointChain(port.name, ip: pick.endpoint.ip, targetPort: pick.endpoint.port)
        let base = hook == "OUTPUT" ? "nat-output" : "nat-prerouting"
        result.add("kube-proxy", base, book.nftRule(base, containing: ["jump services"]), "jump to services")
        if flow.nodePort {
            let ext = names.externalChain(port.name)
            result.add("kube-proxy", "services", book.nftRule("services", containing: ["@service-nodeports"]),
                       "\(packet.destination) is a NodePort address: \(transport) . \(packet.destinationPort ?? 0) → goto \(ext)")
            if !port.externalPolicyLocal {
                result.add("kube-proxy", ext, book.nftRule(ext, containing: ["jump mark-for-masquerade"]), "mark for masquerade (0x4000)")
                packet.masqueradeMark = true
            }
            result.add("kube-proxy", ext, book.nftRule(ext, containing: ["goto "]), "goto \(svc)")
        } else {
            result.add("kube-proxy", "services", book.nftRule("services", containing: ["@service-ips"]),
                       "\(port.clusterIP) . \(transport) . \(port.port) in @service-ips → goto \(svc)")
            if !topology.podCIDR.contains(packet.source) {
                result.add("kube-proxy", svc, book.nftRule(svc, containing: ["jump mark-for-masquerade"]),
                           "source \(packet.source) is outside the cluster CIDR: mark for masquerade")
                packet.masqueradeMark = true
            }
        }
        result.add("kube-proxy", svc, book.nftRule(svc, containing: ["numgen random"]), "numgen \(pick.index) → goto \(sep) (\(pick.text))")
        if packet.source == pick.endpoint.ip {
            result.add("kube-proxy", sep, book.nftRule(sep, containing: ["jump mark-for-masquerade"]), "hairpin: mark for masquerade")
            packet.masqueradeMark = true
        }
        result.dnat("kube-proxy", sep, book.nftRule(sep, containing: ["dnat to"]), to: pick.endpoint, packet: &packet)
    }

    /// kube-proxy's POSTROUTING: a marked packet is masqueraded to the address of the device it
    /// leaves by; an unmarked one returns untouched.
    mutating func masqueradeHops(node: NodeTopology, out: String, packet: inout TracePacket, translation: inout TraceTranslation?) -> [TraceHop] {
        let book = self.book(node)
        var hops: [TraceHop] = []
        func add(_ table: String, _ chain: String, _ rule: String?, _ decision: String, nat: String? = nil) {
            hops.append(TraceHop(netns: node.netns, object: node.name, out: out, decision: decision, rule: rule, table: table, chain: chain, nat: nat))
        }
        guard packet.masqueradeMark else { return [] }
        // The address masquerade picks is the out device's: flannel.1 has only the podCIDR's
        // `.0` (a node's packet to a pod behind another node leaves with it, masqueraded or not).
        let address = node.address(on: out)
        let before = packet.sourceText
        switch topology.proxy {
        case .iptables:
            let names = IPTablesChainNames.self
            add("nat", "POSTROUTING", book.iptablesRule("nat", "POSTROUTING", containing: ["-j \(names.postrouting)"]), "jump to \(names.postrouting)")
            add("nat", names.postrouting, book.iptablesRule("nat", names.postrouting, containing: ["--xor-mark"]), "clear the mark")
            add("nat", names.postrouting, book.iptablesRule("nat", names.postrouting, containing: ["-j MASQUERADE"]),
                "masquerade to \(out)'s address \(address), random port", nat: "SNAT src \(before) → \(address):*")
        case .nftables:
            add("kube-proxy", "nat-postrouting", book.nftRule("nat-postrouting", containing: ["jump masquerading"]), "jump to masquerading")
            add("kube-proxy", "masquerading", book.nftRule("masquerading", containing: ["xor"]), "clear the mark")
            add("kube-proxy", "masquerading", book.nftRule("masquerading", containing: ["masquerade"]),
                "masquerade to \(out)'s address \(address), random port", nat: "SNAT src \(before) → \(address):*")
        }
        if var current = translation {
            current.originalSource = (packet.source, packet.sourcePort)
            current.translatedSource = address
            translation = current
        }
        packet.source = address
        packet.masqueradeMark = false
        return hops
    }
}
