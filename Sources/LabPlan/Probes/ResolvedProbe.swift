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
    /// nil for `exec` probes.
    public var address: IPv4Address?
    /// nil for ping and exec.
    public var port: Int?
    public var kind: ProbeKind
    public var expect: ProbeExpectation
    public var repeatCount: Int
    public var timeoutMilliseconds: Int
    public var retries: Int
}

extension ProbeKind {
    /// `ping`, `http`, `tcp`, `udp`, `exec`: how reports name the kind.
    public var label: String {
        switch self {
        case .ping: return "ping"
        case .http: return "http"
        case .tcp: return "tcp"
        case .udp: return "udp"
        case .exec: return "exec"
        }
    }

    /// The destination port the kind carries.
    public var port: Int? {
        switch self {
        case .http(let port, _, _), .tcp(let port), .udp(let port, _): return port
        case .ping, .exec: return nil
        }
    }

    /// The same kind aimed at another port (a service port rewritten to its nodePort).
    func withPort(_ port: Int) -> ProbeKind {
        switch self {
        case .http(_, let path, let method): return .http(port: port, path: path, method: method)
        case .tcp: return .tcp(port: port)
        case .udp(_, let payload): return .udp(port: port, payload: payload)
        case .ping, .exec: return self
        }
    }
}
