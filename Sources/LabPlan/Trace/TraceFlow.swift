import LabAddress
import LabSpec

/// The transport of a traced packet: a TCP SYN, a UDP datagram or an ICMP echo request.
public enum TraceProtocol: String, Sendable, Hashable, Codable, CaseIterable {
    case tcp, udp, icmp

    /// `tcp`/`udp` as the lab file's services spell them, nil for ICMP.
    public var transport: TransportProtocol? {
        switch self {
        case .tcp: return .tcp
        case .udp: return .udp
        case .icmp: return nil
        }
    }
}

/// `lab trace FROM TO …` as typed on the command line, before anything is looked up.
public struct TraceRequest: Sendable, Hashable {
    public var from: String
    public var to: String
    public var port: Int?
    /// nil: tcp when a port is given, icmp otherwise.
    public var `protocol`: TraceProtocol?
    /// `--node-port`: a service is reached on its NodePort at a node's IP instead of its ClusterIP.
    public var nodePort: Bool
    /// The node whose IP a `--node-port` trace targets (default: the first node).
    public var viaNode: String?

    public init(from: String, to: String, port: Int? = nil, protocol: TraceProtocol? = nil, nodePort: Bool = false, viaNode: String? = nil) {
        self.from = from
        self.to = to
        self.port = port
        self.protocol = `protocol`
        self.nodePort = nodePort
        self.viaNode = viaNode
    }
}

/// Where a traced packet starts or ends: something of the lab with a namespace and an address.
public struct TraceEndpoint: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable { case pod, node, host, service, address }
    public var kind: Kind
    /// The lab's name for it (`pod-a`, `node-1`, `service/web`, `10.0.0.9`).
    public var name: String
    /// The network namespace it lives in; nil for a service or a bare address.
    public var netns: String?
    public var ip: IPv4Address
}

/// A trace settled against the topology: who sends, to which address and port, and, for a
/// service, which port of which service (the DNAT the model forks on).
public struct TraceFlow: Sendable, Hashable {
    public var source: TraceEndpoint
    public var target: TraceEndpoint
    public var `protocol`: TraceProtocol
    /// The destination address the packet is sent to (a ClusterIP, a node IP for a NodePort).
    public var destination: IPv4Address
    /// The destination port; nil for ICMP.
    public var port: Int?
    /// The service and port a ClusterIP or NodePort trace goes through.
    public var service: ServiceTopology?
    public var servicePort: ServicePortTopology?
    /// True when the packet goes to a NodePort.
    public var nodePort: Bool

    /// `tcp 10.244.1.2 → 10.96.0.20:80`, the flow as the header of a trace names it.
    public var summary: String {
        let portText = port.map { ":\($0)" } ?? ""
        return "\(`protocol`.rawValue) \(source.name) (\(source.ip)) → \(target.name) (\(destination)\(portText))"
    }
}

/// Why a trace cannot start: a name that matches nothing, or arguments that do not fit the
/// target. Nothing has been touched when one is thrown.
public struct TraceError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// A name or address that matches nothing in the lab.
        case unknown
        /// Arguments that cannot go together (a port on an ICMP trace, a missing port, …).
        case usage
    }
    public var kind: Kind
    public var message: String
    public var description: String { message }

    static func unknown(_ message: String) -> TraceError { TraceError(kind: .unknown, message: message) }
    static func usage(_ message: String) -> TraceError { TraceError(kind: .usage, message: message) }
}

extension TraceFlow {
    /// Settles `request` in `topology`: FROM is a pod, node or host; TO is a pod, node, host,
    /// `service/NAME[.namespace]` or an IPv4 address.
    public static func resolve(_ request: TraceRequest, in topology: Topology) throws -> TraceFlow {
        // A service is reached on a port: without --port, its only port (tcp or udp); anything
        // else defaults to a ping without a port and TCP with one.
        let serviceProtocol: TraceProtocol? = Reference(request.to)?.kind == .service && request.port == nil ? .tcp : nil
        var proto = request.protocol ?? serviceProtocol ?? (request.port == nil ? .icmp : .tcp)
        if request.protocol == nil, serviceProtocol != nil, let name = Reference(request.to)?.name.split(separator: ".").first,
           let service = topology.services.first(where: { $0.name == name }), service.ports.count == 1 {
            proto = service.ports[0].protocol == .udp ? .udp : .tcp
        }
        if proto == .icmp, let port = request.port {
            throw TraceError.usage("--port \(port) does not fit an ICMP trace; drop --port or add --protocol tcp or udp")
        }
        if let port = request.port, !(1...65535).contains(port) {
            throw TraceError.usage("--port \(port) is not a port number (1 to 65535)")
        }
        let source = try sourceEndpoint(request.from, in: topology)
        let reference = Reference(request.to)
        if reference?.kind == .service {
            var flow = try serviceFlow(request, reference: reference!, protocol: proto, source: source, in: topology)
            flow.source.ip = sourceAddress(of: source, toward: flow.destination, in: topology)
            return flow
        }
        if request.nodePort {
            throw TraceError.usage("--node-port needs a service as TO (service/NAME), not \"\(request.to)\"")
        }
        if proto != .icmp && request.port == nil {
            throw TraceError.usage("a \(proto.rawValue) trace needs --port")
        }
        let target: TraceEndpoint
        if let address = IPv4Address(request.to) {
            target = object(at: address, in: topology) ?? TraceEndpoint(kind: .address, name: request.to, netns: nil, ip: address)
        } else {
            target = try machineOrPod(request.to, role: "TO", in: topology, allowServices: true)
        }
        var routed = source
        routed.ip = sourceAddress(of: source, toward: target.ip, in: topology)
        return TraceFlow(source: routed, target: target, protocol: proto, destination: target.ip, port: request.port,
                         service: nil, servicePort: nil, nodePort: false)
    }

    /// The address a node's packet leaves with: the one its kernel's route lookup picks for the
    /// destination (the route's `src`, else the primary address of the route's device). A pod
    /// or host has one address. In vxlan mode the route to another node's podCIDR goes out of
    /// flannel.1, whose only address is the node's podCIDR `.0` (as flannel configures it), so
    /// that is the source, and the answer comes back through the overlay. Anything else leaves
    /// by eth0 (the default route, or a podCIDR routed via the underlay) with the node's IP.
    /// The node's own podCIDR keeps the node's IP too: cni0's address would be the kernel's
    /// pick, but the probe binds the node's IP there, as kubelet's probes of its pods appear to
    /// kube-router's LOCAL rule either way.
    static func sourceAddress(of source: TraceEndpoint, toward destination: IPv4Address, in topology: Topology) -> IPv4Address {
        guard source.kind == .node, topology.mode == .vxlan,
              let node = topology.nodes.first(where: { $0.netns == source.netns }),
              !node.podCIDR.contains(destination),
              topology.nodes.contains(where: { $0.name != node.name && $0.podCIDR.contains(destination) })
        else { return source.ip }
        return node.podCIDR.address
    }

    static func sourceEndpoint(_ text: String, in topology: Topology) throws -> TraceEndpoint {
        if Reference(text)?.kind == .service {
            throw TraceError.usage("FROM must be a pod, node or host; a service sends nothing (\"\(text)\")")
        }
        if IPv4Address(text) != nil {
            throw TraceError.usage("FROM must be a pod, node or host of the lab, not an address (\"\(text)\")")
        }
        return try machineOrPod(text, role: "FROM", in: topology, allowServices: false)
    }

    /// A pod, node or host by bare or qualified name, with a "did you mean" when a name is close.
    static func machineOrPod(_ text: String, role: String, in topology: Topology, allowServices: Bool) throws -> TraceEndpoint {
        let reference = Reference(text)
        let name = reference?.name ?? text
        let kind = reference?.kind
        var found: [TraceEndpoint] = []
        if kind == nil || kind == .pod, let pod = topology.pod(named: name) {
            found.append(TraceEndpoint(kind: .pod, name: pod.name, netns: pod.netns, ip: pod.ip))
        }
        if kind == nil || kind == .node, let node = topology.node(named: name) {
            found.append(TraceEndpoint(kind: .node, name: "node/\(node.name)", netns: node.netns, ip: node.ip))
        }
        if kind == nil || kind == .host, let host = topology.host(named: name) {
            found.append(TraceEndpoint(kind: .host, name: "host/\(host.name)", netns: host.netns, ip: host.ip))
        }
        if let first = found.first { return first }
        var candidates = topology.pods.map(\.name) + topology.nodes.map(\.name) + topology.hosts.map(\.name)
        if allowServices { candidates += topology.services.map { "service/\($0.name)" } }
        let hint = suggestion(for: name, among: candidates).map { "; did you mean \"\($0)\"?" } ?? ""
        let what = allowServices ? "pod, node, host or service" : "pod, node or host"
        throw TraceError.unknown("\(role) \"\(text)\": lab \(topology.lab) has no \(what) of that name\(hint)")
    }

    /// The lab object that owns `address`, so a trace to an IP still names what it reaches.
    static func object(at address: IPv4Address, in topology: Topology) -> TraceEndpoint? {
        if let pod = topology.pods.first(where: { $0.ip == address }) {
            return TraceEndpoint(kind: .pod, name: pod.name, netns: pod.netns, ip: pod.ip)
        }
        if let node = topology.nodes.first(where: { $0.ip == address }) {
            return TraceEndpoint(kind: .node, name: "node/\(node.name)", netns: node.netns, ip: node.ip)
        }
        if let host = topology.hosts.first(where: { $0.ip == address }) {
            return TraceEndpoint(kind: .host, name: "host/\(host.name)", netns: host.netns, ip: host.ip)
        }
        return nil
    }

    static func serviceFlow(_ request: TraceRequest, reference: Reference, protocol proto: TraceProtocol,
                            source: TraceEndpoint, in topology: Topology) throws -> TraceFlow {
        let parts = reference.name.split(separator: ".", maxSplits: 1).map(String.init)
        let name = parts[0]
        let namespace = parts.count > 1 ? parts[1] : nil
        guard let service = topology.services.first(where: { $0.name == name && (namespace == nil || $0.namespace == namespace) }) else {
            let hint = suggestion(for: name, among: topology.services.map(\.name)).map { "; did you mean \"service/\($0)\"?" } ?? ""
            let known = topology.services.map { "service/\($0.name)" }
            throw TraceError.unknown("TO \"\(request.to)\": lab \(topology.lab) has no such service"
                + (known.isEmpty ? " (it has none)" : " (services: \(known.joined(separator: ", ")))") + hint)
        }
        guard let clusterIP = service.clusterIP else {
            throw TraceError.usage("service/\(service.name) is headless: it has no ClusterIP to trace; trace one of its pods (\(service.endpoints.joined(separator: ", ")))")
        }
        guard let transport = proto.transport else {
            throw TraceError.usage("a service is reached on a port: give --port (service/\(service.name) has \(portList(service)))")
        }
        let candidates = service.ports.filter { $0.protocol == transport }
        let chosen: ServicePortTopology
        if let port = request.port {
            let match = candidates.first { request.nodePort ? $0.nodePort == port || ($0.port == port && $0.nodePort != nil) : $0.port == port }
            guard let match else {
                throw TraceError.unknown("service/\(service.name) has no \(proto.rawValue) port \(port) (it has \(portList(service)))")
            }
            chosen = match
        } else if candidates.count == 1 {
            chosen = candidates[0]
        } else {
            throw TraceError.usage("service/\(service.name) has \(candidates.count) \(proto.rawValue) ports; pick one with --port (\(portList(service)))")
        }
        if request.nodePort {
            guard let nodePort = chosen.nodePort else {
                throw TraceError.usage("service/\(service.name) port \(chosen.port) has no NodePort (type \(service.type.rawValue)); drop --node-port")
            }
            let node: NodeTopology
            if let viaNode = request.viaNode {
                guard let found = topology.node(named: viaNode) else {
                    throw TraceError.unknown("--via \"\(viaNode)\": lab \(topology.lab) has no such node (nodes: \(topology.nodes.map(\.name).joined(separator: ", ")))")
                }
                node = found
            } else {
                guard let first = topology.nodes.first else { throw TraceError.unknown("lab \(topology.lab) has no node to take a NodePort") }
                node = first
            }
            return TraceFlow(source: source, target: TraceEndpoint(kind: .service, name: "service/\(service.name)", netns: nil, ip: node.ip),
                             protocol: proto, destination: node.ip, port: nodePort, service: service, servicePort: chosen, nodePort: true)
        }
        return TraceFlow(source: source, target: TraceEndpoint(kind: .service, name: "service/\(service.name)", netns: nil, ip: clusterIP),
                         protocol: proto, destination: clusterIP, port: chosen.port, service: service, servicePort: chosen, nodePort: false)
    }

    static func portList(_ service: ServiceTopology) -> String {
        service.ports.map { port in
            "\(port.protocol.rawValue.lowercased()) \(port.port)" + (port.nodePort.map { " (NodePort \($0))" } ?? "")
        }.joined(separator: ", ")
    }

    static func suggestion(for word: String, among candidates: [String]) -> String? {
        EditDistance.suggestion(for: word, among: candidates)
    }
}
