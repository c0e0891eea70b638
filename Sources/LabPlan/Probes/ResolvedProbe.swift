import LabAddress
import LabSpec

/// One probe with every name turned into a namespace and an address: what `lab verify` runs.
/// A matrix probe becomes one of these per (from, to) pair, all sharing its `group`.
public struct ResolvedProbe: Sendable, Hashable {
    public var name: String
    /// The matrix (or model-check section) this probe belongs to, for truth tables.
    public var group: String?
    /// As the report shows them: `pod-a`, `node/node-1`, `service/web`, `10.244.1.2`.
    public var from: String
    public var to: String
    /// Where the probe's socket is opened.
    public var fromNetns: String
    /// nil for `exec` probes, and for a probe by name until its name is resolved as it runs.
    public var address: IPv4Address?
    /// nil for ping and exec.
    public var port: Int?
    public var kind: ProbeKind
    public var expect: ProbeExpectation
    public var repeatCount: Int
    public var timeoutMilliseconds: Int
    public var retries: Int
    /// A probe by name, or a `dns` probe: what to look up, and the resolver to look it up with.
    public var lookup: ProbeLookup? = nil
}

/// A name a probe looks up when it runs, from inside its source pod: the pod's resolver is
/// kubelet's ClusterFirst one (its namespace's search path, `ndots:5`, the cluster DNS).
public struct ProbeLookup: Sendable, Hashable, Codable {
    /// As the lab file wrote it (`cart.store`, `web`, `_http._tcp.web`, `10.96.0.10`).
    public var name: String
    /// The source pod's Kubernetes namespace, which heads its search path.
    public var namespace: String
    /// The cluster domain.
    public var domain: String
    /// The pod's nameserver: the cluster DNS service's ClusterIP.
    public var nameserver: IPv4Address
    /// 53, but for tests that run their own server.
    public var port: Int = 53
}

extension ProbeKind {
    /// The destination port the kind carries.
    public var port: Int? {
        switch self {
        case .http(let port, _, _), .tcp(let port), .udp(let port, _): return port
        case .ping, .exec, .dns: return nil
        }
    }

    /// The same kind aimed at another port (a service port rewritten to its nodePort).
    func withPort(_ port: Int) -> ProbeKind {
        switch self {
        case .http(_, let path, let method): return .http(port: port, path: path, method: method)
        case .tcp: return .tcp(port: port)
        case .udp(_, let payload): return .udp(port: port, payload: payload)
        case .ping, .exec, .dns: return self
        }
    }
}
