import LabAddress

/// One entry of `probes:` (docs/architecture.md, "Probes"). Parsed and validated here; run by `lab
/// verify`.
public struct ProbeSpec: Sendable, Hashable {
    public var name: String?
    /// Exactly one of `from`/`to` or `matrix` is set (`to` is absent for `exec` probes).
    public var from: Reference?
    /// A reference, or an IPv4 literal (`ip`).
    public var to: ProbeTarget?
    public var matrix: MatrixSpec?
    public var kind: ProbeKind
    public var expect: ExpectSpec = ExpectSpec()
    public var repeatCount: Int = 1
    /// Milliseconds; default 2000.
    public var timeoutMilliseconds: Int = 2000
    public var retries: Int = 0
    /// `nodePort: true` in an http/tcp/udp probe to a service: go through the service's
    /// NodePort on a node IP instead of its ClusterIP (`port` still names the service port).
    public var nodePort: Bool = false
}

public enum ProbeTarget: Sendable, Hashable, CustomStringConvertible {
    case object(Reference)
    case address(IPv4Address)
    /// A DNS name (`cart.store`, `web.default.svc.cluster.local.`, or anything after `dns:`),
    /// resolved from inside the source pod through the cluster DNS when the probe runs. Stored
    /// without the `dns:` prefix.
    case name(String)

    public var description: String {
        switch self {
        case .object(let reference): return reference.description
        case .address(let address): return address.description
        case .name(let name): return name
        }
    }
}

/// The record types a `dns:` probe asks for.
public enum DNSProbeType: String, Sendable, Hashable, CaseIterable, Codable {
    case a = "A"
    case aaaa = "AAAA"
    case srv = "SRV"
    case ptr = "PTR"
}

/// The response codes `expect: {rcode: …}` may name: the ones a cluster DNS server gives.
public enum DNSProbeRcode: String, Sendable, Hashable, CaseIterable, Codable {
    case noError = "NOERROR"
    case serverFailure = "SERVFAIL"
    case nameError = "NXDOMAIN"
    case refused = "REFUSED"
}

public enum ProbeKind: Sendable, Hashable {
    case ping(count: Int)
    case http(port: Int, path: String, method: String)
    case tcp(port: Int)
    case udp(port: Int, payload: String)
    case exec([String])
    /// One lookup through the source pod's resolver: `name` (with the pod's search path unless
    /// it ends in a dot; an IPv4 address for PTR is reversed, as `dig -x` does) and the type.
    case dns(name: String, type: DNSProbeType)

    /// The kind's key in a lab file (`ping`, `http`, `tcp`, `udp`, `exec`, `dns`): how paths,
    /// messages and reports name it.
    public var label: String {
        switch self {
        case .ping: "ping"
        case .http: "http"
        case .tcp: "tcp"
        case .udp: "udp"
        case .exec: "exec"
        case .dns: "dns"
        }
    }
}

/// `matrix: {from: …, to: …}`: each side is a list of names, `"*"` (every pod) or a label selector.
public struct MatrixSpec: Sendable, Hashable {
    public var from: MatrixSide
    public var to: MatrixSide
}

public enum MatrixSide: Sendable, Hashable {
    case allPods
    case names([Reference])
    case selector([String: String])
}

/// What a probe must observe. Decoded from a lab file's `expect:`, `clientIP` holds what the
/// file wrote (a pod, node or host name, or an address); once the plan resolves a probe it holds
/// the address (see `resolving(clientIP:)` in LabPlan). The default expects an answer and
/// nothing more.
public struct ExpectSpec: Sendable, Hashable {
    /// false: the probe must get no answer (timeout, refusal, unreachable, reset).
    public var reach: Bool
    /// `reach: policy`: `reach` is whatever the lab's NetworkPolicies allow, settled when the
    /// probe is resolved against the topology (until then `reach` is true).
    public var reachByPolicy: Bool = false
    /// The HTTP status every try must get.
    public var status: Int?
    /// A substring every HTTP body must contain.
    public var body: String?
    /// Over all tries, exactly these pods answered (each at least once, no other).
    public var servedBy: [String]?
    /// The source address the server must have seen: as written in the file, or resolved.
    public var clientIP: String?
    /// A bound on the mean round-trip time of every echo answered, in milliseconds (`<5ms`).
    public var rtt: MeasurementBound?
    /// A bound on the share of echoes lost over all tries, in percent (`0%`, `<1%`).
    public var loss: MeasurementBound?
    /// dns: exactly these answers, in any order (A/AAAA: addresses; SRV: `"prio weight port
    /// target"` or `"port target"`; PTR: names, the trailing dot optional).
    public var answers: [String]?
    /// dns: the response code the lookup ends with (after the search path).
    public var rcode: DNSProbeRcode?

    public init(reach: Bool = true, status: Int? = nil, body: String? = nil, servedBy: [String]? = nil,
                clientIP: String? = nil, rtt: MeasurementBound? = nil, loss: MeasurementBound? = nil,
                answers: [String]? = nil, rcode: DNSProbeRcode? = nil) {
        self.reach = reach
        self.status = status
        self.body = body
        self.servedBy = servedBy
        self.clientIP = clientIP
        self.rtt = rtt
        self.loss = loss
        self.answers = answers
        self.rcode = rcode
    }
}
