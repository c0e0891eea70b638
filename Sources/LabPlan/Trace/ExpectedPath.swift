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
    private var books: [String: ServiceRuleBook] = [:]

    init(topology: Topology, flow: TraceFlow) {
        self.topology = topology
        self.flow = flow
    }

    func proxiedPort(_ service: ServiceTopology, _ port: ServicePortTopology) -> ProxiedServicePort? {
        guard let node = topology.nodes.first else { return nil }
        return ProxiedServicePort.all(in: topology, node: node.name).first {
            $0.name.namespace == service.namespace && $0.name.name == service.name && $0.port == port.port
                && $0.name.protocol == port.protocol.rawValue.lowercased()
        }
    }

    mutating func book(_ node: NodeTopology) -> ServiceRuleBook {
        if let book = books[node.name] { return book }
        let book = ServiceRuleBook(topology: topology, node: node)
        books[node.name] = book
        return book
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
            let sender: IPv4Address
            if node.podCIDR.contains(packet.source) {
                sender = node.bridgeAddress
            } else if topology.mode == .vxlan, topology.nodes.contains(where: { $0.podCIDR.contains(packet.source) }) {
                sender = node.podCIDR.address
            } else {
                sender = node.ip
            }
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
            switch place {
            case .pod(let pod, let arrivedOn):
                if let arrivedOn {
                    if packet.destination == pod.ip {
                        hops.append(TraceHop(netns: pod.netns, object: pod.name, in: arrivedOn,
                                             decision: "local \(pod.ip) dev eth0 table local: delivered to \(pod.name)"))
                        return .delivered(object: pod.name, address: packet.destinationText)
                    }
                    hops.append(TraceHop(netns: pod.netns, object: pod.name, in: arrivedOn, decision: "not for \(pod.ip) and a pod does not forward: dropped"))
                    return .dropped(object: pod.name, reason: "\(packet.destination) is not \(pod.name)'s address")
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
                guard let node = topology.node(named: pod.node) else { return .dropped(object: pod.name, reason: "no node") }
                if nextHop == node.bridgeAddress {
                    place = .node(node, arrivedOn: pod.veth.name)
                    continue
                }
                // On-link: cni0 switches the frame to the port of the pod that owns the address.
                guard let peer = topology.pods.first(where: { $0.node == node.name && $0.ip == nextHop }) else {
                    hops.append(TraceHop(netns: node.netns, object: node.name, in: pod.veth.name,
                                         decision: "no ARP answer for \(nextHop) on cni0"))
                    return .dropped(object: node.name, reason: "no ARP answer for \(nextHop)")
                }
                hops.append(bridgeHop(node: node, from: pod.veth.name, to: peer.veth.name, packet: &packet, reply: reply, translation: translation))
                // br_netfilter hands the bridged frame to the node's FORWARD chain, where
                // NetworkPolicy is enforced for pods of the same node too.
                if !reply {
                    let policy = policyStep(node: node, hook: "FORWARD", packet: packet, in: pod.veth.name, out: peer.veth.name)
                    hops += policy.hops
                    if let rejected = policy.rejected { return .dropped(object: node.name, reason: rejected) }
                }
                place = .pod(peer, arrivedOn: Naming.podInterface)

            case .host(let host, let arrivedOn):
                if let arrivedOn {
                    if packet.destination == host.ip {
                        hops.append(TraceHop(netns: host.netns, object: "host/\(host.name)", in: arrivedOn,
                                             decision: "local \(host.ip) dev eth0 table local: delivered to host/\(host.name)"))
                        return .delivered(object: "host/\(host.name)", address: packet.destinationText)
                    }
                    return .dropped(object: "host/\(host.name)", reason: "a host does not forward")
                }
                let (decision, nextHop) = underlayRoute(host, destination: packet.destination)
                hops.append(TraceHop(netns: host.netns, object: "host/\(host.name)", out: Naming.uplink, decision: decision))
                guard let network = topology.network(named: host.network) else { return .dropped(object: "host/\(host.name)", reason: "no network") }
                place = .fabric(network: network, port: host.uplink.peerName, nextHop: nextHop)

            case .fabric(let network, let port, let nextHop):
                let fabric = topology.fabricNetns
                if nextHop != network.gateway {
                    // Switched: the bridge sends the frame out of the port of the machine that owns the next hop.
                    guard let machine = topology.machines.first(where: { $0.network == network.name && $0.ip == nextHop }) else {
                        hops.append(TraceHop(netns: fabric, object: "fabric", in: port, decision: "no ARP answer for \(nextHop) on \(network.bridge)"))
                        return .dropped(object: "fabric", reason: "no ARP answer for \(nextHop)")
                    }
                    hops.append(TraceHop(netns: fabric, object: "fabric", in: port, out: machine.uplink.peerName,
                                         decision: "\(network.bridge) forwards to port \(machine.uplink.peerName) (\(machine.name))"))
                    place = placeOf(machine: machine)
                    continue
                }
                // Addressed to the gateway: the fabric routes, as the racks' router would.
                guard let (decision, outNetwork, hop) = fabricRoute(packet.destination) else {
                    hops.append(TraceHop(netns: fabric, object: "fabric", in: network.bridge,
                                         decision: "no route to \(packet.destination): the fabric knows only the networks\(topology.mode == .routed ? " and the podCIDRs" : "")"))
                    return .dropped(object: "fabric", reason: "no route to \(packet.destination) in the fabric")
                }
                guard let machine = topology.machines.first(where: { $0.network == outNetwork.name && $0.ip == hop }) else {
                    hops.append(TraceHop(netns: fabric, object: "fabric", in: network.bridge, out: outNetwork.bridge, decision: decision))
                    return .dropped(object: "fabric", reason: "no ARP answer for \(hop) on \(outNetwork.bridge)")
                }
                hops.append(TraceHop(netns: fabric, object: "fabric", in: network.bridge, out: outNetwork.bridge,
                                     decision: "\(decision); \(outNetwork.bridge) forwards to port \(machine.uplink.peerName) (\(machine.name))"))
                place = placeOf(machine: machine)

            case .node(let node, let arrivedOn):
                switch nodeStep(node, arrivedOn: arrivedOn, packet: &packet, hops: &hops, endpoint: endpoint,
                                index: index, of: count, translation: &translation, reply: reply) {
                case .continue(let nextPlace): place = nextPlace
                case .done(let outcome): return outcome
                }
            }
        }
        return .dropped(object: "?", reason: "the path loops")
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

    enum NodeNext {
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

    mutating func nodeStep(_ node: NodeTopology, arrivedOn: String?, packet: inout TracePacket, hops: inout [TraceHop],
                           endpoint: ServiceEndpoint?, index: Int, of count: Int,
                           translation: inout TraceTranslation?, reply: Bool) -> NodeNext {
        let object = node.name
        let netns = node.netns
        let local = arrivedOn == nil

        // 1. VXLAN: UDP 8472 for this node's address is decapsulated by flannel.1, and the
        //    inner packet enters the node again on that device.
        if topology.mode == .vxlan, arrivedOn == Naming.uplink, let inner = packet.encapsulated, packet.destination == node.ip {
            hops.append(TraceHop(netns: netns, object: object, in: Naming.uplink, out: Naming.vxlanDevice,
                                 decision: "udp 8472 to \(node.ip) is \(Naming.vxlanDevice)'s: decapsulated",
                                 encap: "vxlan decap \(packet.source) → \(packet.destination) udp 8472 vni 1"))
            packet = inner
            return .continue(.node(node, arrivedOn: Naming.vxlanDevice))
        }

        // 2. Reply of a masqueraded connection: conntrack restores the destination first (PREROUTING).
        var unSNAT: String?
        if reply, let current = translation, current.node == node.name, let translatedSource = current.translatedSource,
           packet.destination == translatedSource, let original = current.originalSource {
            let before = packet.destinationText
            packet.destination = original.0
            packet.destinationPort = original.1
            unSNAT = "un-SNAT (conntrack): dst \(before) → \(packet.destinationText)"
        }

        // 3. kube-proxy's DNAT, for a new connection to a ClusterIP or NodePort of this node.
        if !reply, let service = flow.service, let servicePort = flow.servicePort, translation == nil,
           matchesService(node: node, packet: packet, servicePort: servicePort) {
            let hook = local ? "OUTPUT" : "PREROUTING"
            let result = serviceHops(node: node, hook: hook, service: service, servicePort: servicePort, packet: &packet,
                                     endpoint: endpoint, index: index, of: count, arrivedOn: arrivedOn)
            hops += result.hops
            if let original = result.originalDestination {
                translation = TraceTranslation(node: node.name, originalDestination: original,
                                               translatedDestination: (packet.destination, packet.destinationPort))
            } else if let reason = result.stopped {
                return .done(.dropped(object: object, reason: reason))
            }
        }

        // 4. Route lookup on the (translated) destination.
        let localAddresses = [node.ip, node.bridgeAddress] + (topology.mode == .vxlan ? [node.podCIDR.address] : [])
        if localAddresses.contains(packet.destination) {
            if !reply {
                let policy = policyStep(node: node, hook: "INPUT", packet: packet, in: arrivedOn, out: nil)
                hops += policy.hops
                if let rejected = policy.rejected { return .done(.dropped(object: object, reason: rejected)) }
            }
            var hop = TraceHop(netns: netns, object: object, in: arrivedOn,
                               decision: "local \(packet.destination) table local: delivered to node \(node.name)")
            hop.nat = unSNAT
            if reply, let current = translation, current.node == node.name {
                let undo = undoDNAT(current, packet: &packet)
                hop.nat = [hop.nat, undo].compactMap { $0 }.joined(separator: "; ")
            }
            hops.append(hop)
            return .done(.delivered(object: "node/\(node.name)", address: packet.destinationText))
        }
        var decision: String
        var out: String
        var nextHop: IPv4Address
        var vxlanPeer: NodeTopology?
        if node.podCIDR.contains(packet.destination) {
            decision = "route \(node.podCIDR) dev \(Naming.podBridge) proto kernel scope link src \(node.bridgeAddress)"
            out = Naming.podBridge
            nextHop = packet.destination
        } else if let remote = topology.nodes.first(where: { $0.name != node.name && $0.podCIDR.contains(packet.destination) }) {
            switch topology.mode {
            case .routed:
                nextHop = remote.network == node.network ? remote.ip : node.gateway
                decision = "route \(remote.podCIDR) via \(nextHop) dev \(Naming.uplink)"
                out = Naming.uplink
            case .vxlan:
                nextHop = remote.podCIDR.address
                decision = "route \(remote.podCIDR) via \(remote.podCIDR.address) dev \(Naming.vxlanDevice) onlink"
                out = Naming.vxlanDevice
                vxlanPeer = remote
            }
        } else {
            (decision, nextHop) = underlayRoute(node, destination: packet.destination)
            out = Naming.uplink
        }
        if unSNAT == nil, !local, arrivedOn != nil, out == Naming.podBridge, let arrivedOn, arrivedOn.hasPrefix("veth") {
            // From a pod to a pod of the same podCIDR through the gateway (after DNAT): routed
            // back out of cni0.
            decision += " (routed: the frame was for \(Naming.podBridge)'s own address)"
        }

        // 5. FORWARD (OUTPUT for the node's own packet): NetworkPolicy, on the addresses
        //    before masquerade.
        let policy = reply ? PolicyStep()
            : policyStep(node: node, hook: local ? "OUTPUT" : "FORWARD", packet: packet, in: arrivedOn, out: out)

        // 6. POSTROUTING: masquerade what kube-proxy marked; undo the DNAT on a reply.
        var postHops: [TraceHop] = []
        if !reply, book(node).hasRules {
            postHops = masqueradeHops(node: node, out: out, packet: &packet, translation: &translation)
        }
        var routeHop = TraceHop(netns: netns, object: object, in: arrivedOn, out: out, decision: decision)
        if let unSNAT { routeHop.nat = unSNAT }
        if reply, let current = translation, current.node == node.name {
            let undo = undoDNAT(current, packet: &packet)
            routeHop.nat = [routeHop.nat, undo].compactMap { $0 }.joined(separator: "; ")
        }
        hops.append(routeHop)
        hops += policy.hops
        if let rejected = policy.rejected { return .done(.dropped(object: object, reason: rejected)) }
        hops += postHops

        // 7. Out of the chosen device.
        switch out {
        case Naming.podBridge:
            guard let pod = topology.pods.first(where: { $0.node == node.name && $0.ip == nextHop }) else {
                hops.append(TraceHop(netns: netns, object: object, out: Naming.podBridge, decision: "no ARP answer for \(nextHop) on \(Naming.podBridge)"))
                return .done(.dropped(object: object, reason: "no ARP answer for \(nextHop) on \(Naming.podBridge)"))
            }
            hops.append(TraceHop(netns: netns, object: object, in: Naming.podBridge, out: pod.veth.name,
                                 decision: "\(Naming.podBridge) forwards to port \(pod.veth.name) (\(pod.name))"))
            return .continue(.pod(pod, arrivedOn: Naming.podInterface))
        case Naming.vxlanDevice:
            guard let remote = vxlanPeer else { return .done(.dropped(object: object, reason: "no VXLAN peer")) }
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

    struct ServiceHops {
        var hops: [TraceHop] = []
        var originalDestination: (IPv4Address, Int?)?
        var stopped: String?
    }

    /// kube-proxy's nat chains for the first packet, rule by rule, in the node's own words.
    mutating func serviceHops(node: NodeTopology, hook: String, service: ServiceTopology, servicePort: ServicePortTopology,
                              packet: inout TracePacket, endpoint: ServiceEndpoint?, index: Int, of count: Int,
                              arrivedOn: String?) -> ServiceHops {
        let book = self.book(node)
        var result = ServiceHops()
        guard book.hasRules, let port = ProxiedServicePort.all(in: topology, node: node.name).first(where: {
            $0.name.name == service.name && $0.name.namespace == service.namespace && $0.port == servicePort.port
                && $0.name.protocol == servicePort.protocol.rawValue.lowercased()
        }) else { return result }
        let fromCluster = topology.podCIDR.contains(packet.source)
        func add(_ table: String, _ chain: String, _ rule: String?, _ decision: String, nat: String? = nil) {
            result.hops.append(TraceHop(netns: node.netns, object: node.name, in: arrivedOn, decision: decision,
                                        rule: rule, table: table, chain: chain, nat: nat))
        }
        guard let endpoint else {
            result.stopped = "service \(service.name) port \(servicePort.port) has no endpoints: rejected"
            switch topology.proxy {
            case .iptables:
                add("filter", IPTablesChainNames.services, book.iptablesRule("filter", IPTablesChainNames.services, containing: ["-d \(port.clusterIP) ", "-j REJECT"]),
                    "no endpoints: REJECT (ICMP port unreachable)")
            case .nftables:
                add("kube-proxy", "service-endpoints-check", book.nftRule("service-endpoints-check", containing: ["@no-endpoint-services"]),
                    "no endpoints: goto reject-chain")
            }
            return result
        }
        let pod = topology.pods.first { $0.ip == endpoint.ip }?.name ?? "\(endpoint.ip)"
        let pick = "endpoint \(index + 1) of \(count): \(pod) (\(endpoint.text)), probability 1/\(count)"
        let hairpin = packet.source == endpoint.ip
        switch topology.proxy {
        case .iptables:
            let names = IPTablesChainNames.self
            let svc = names.serviceChain(port.name)
            let sep = names.endpointChain(port.name, endpoint: endpoint.text)
            add("nat", hook, book.iptablesRule("nat", hook, containing: ["-j \(names.services)"]), "jump to \(names.services)")
            if flow.nodePort {
                let ext = names.externalChain(port.name)
                add("nat", names.services, book.iptablesRule("nat", names.services, containing: ["-j \(names.nodePorts)"]),
                    "\(packet.destination) is local: jump to \(names.nodePorts)")
                add("nat", names.nodePorts, book.iptablesRule("nat", names.nodePorts, containing: ["--dport \(packet.destinationPort ?? 0) ", "-j \(ext)"]),
                    "NodePort \(packet.destinationPort ?? 0): jump to \(ext)")
                if !port.externalPolicyLocal {
                    add("nat", ext, book.iptablesRule("nat", ext, containing: ["-j \(names.markMasquerade)"]),
                        "mark for masquerade (0x4000): the reply must come back through \(node.name)")
                    packet.masqueradeMark = true
                }
                add("nat", ext, book.iptablesRule("nat", ext, containing: ["-j \(port.externalPolicyLocal ? names.localChain(port.name) : svc)"]),
                    "jump to \(svc)")
            } else {
                add("nat", names.services, book.iptablesRule("nat", names.services, containing: ["-d \(port.clusterIP) ", "--dport \(port.port) ", "-j \(svc)"]),
                    "\(port.clusterIP):\(port.port) is service \(service.name)'s ClusterIP: jump to \(svc)")
                if !fromCluster {
                    add("nat", svc, book.iptablesRule("nat", svc, containing: ["-j \(names.markMasquerade)"]),
                        "source \(packet.source) is outside the cluster CIDR \(topology.podCIDR): mark for masquerade")
                    packet.masqueradeMark = true
                }
            }
            add("nat", svc, book.iptablesRule("nat", svc, containing: ["-j \(sep)"]), pick)
            if hairpin {
                add("nat", sep, book.iptablesRule("nat", sep, containing: ["-j \(names.markMasquerade)"]),
                    "hairpin: the source is the endpoint itself; mark for masquerade")
                packet.masqueradeMark = true
            }
            let original = (packet.destination, packet.destinationPort)
            let before = packet.destinationText
            packet.destination = endpoint.ip
            packet.destinationPort = endpoint.port
            add("nat", sep, book.iptablesRule("nat", sep, containing: ["-j DNAT"]), "DNAT to \(endpoint.text)",
                nat: "DNAT dst \(before) → \(packet.destinationText)")
            result.originalDestination = original
        case .nftables:
            let names = NFTablesChainNames.self
            let svc = names.serviceChain(port.name)
            let sep = names.endpointChain(port.name, ip: endpoint.ip, targetPort: endpoint.port)
            let base = hook == "OUTPUT" ? "nat-output" : "nat-prerouting"
            add("kube-proxy", base, book.nftRule(base, containing: ["jump services"]), "jump to services")
            if flow.nodePort {
                let ext = names.externalChain(port.name)
                add("kube-proxy", "services", book.nftRule("services", containing: ["@service-nodeports"]),
                    "\(packet.destination) is a NodePort address: \(servicePort.protocol.rawValue.lowercased()) . \(packet.destinationPort ?? 0) → goto \(ext)")
                if !port.externalPolicyLocal {
                    add("kube-proxy", ext, book.nftRule(ext, containing: ["jump mark-for-masquerade"]), "mark for masquerade (0x4000)")
                    packet.masqueradeMark = true
                }
                add("kube-proxy", ext, book.nftRule(ext, containing: ["goto "]), "goto \(svc)")
            } else {
                add("kube-proxy", "services", book.nftRule("services", containing: ["@service-ips"]),
                    "\(port.clusterIP) . \(servicePort.protocol.rawValue.lowercased()) . \(port.port) in @service-ips → goto \(svc)")
                if !fromCluster {
                    add("kube-proxy", svc, book.nftRule(svc, containing: ["jump mark-for-masquerade"]),
                        "source \(packet.source) is outside the cluster CIDR: mark for masquerade")
                    packet.masqueradeMark = true
                }
            }
            add("kube-proxy", svc, book.nftRule(svc, containing: ["numgen random"]), "numgen \(index) → goto \(sep) (\(pick))")
            if hairpin {
                add("kube-proxy", sep, book.nftRule(sep, containing: ["jump mark-for-masquerade"]), "hairpin: mark for masquerade")
                packet.masqueradeMark = true
            }
            let original = (packet.destination, packet.destinationPort)
            let before = packet.destinationText
            packet.destination = endpoint.ip
            packet.destinationPort = endpoint.port
            add("kube-proxy", sep, book.nftRule(sep, containing: ["dnat to"]), "DNAT to \(endpoint.text)",
                nat: "DNAT dst \(before) → \(packet.destinationText)")
            result.originalDestination = original
        }
        return result
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
        let address: IPv4Address
        switch out {
        case Naming.podBridge: address = node.bridgeAddress
        case Naming.vxlanDevice: address = node.podCIDR.address
        default: address = node.ip
        }
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
