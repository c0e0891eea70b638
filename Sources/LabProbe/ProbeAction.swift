import LabSpec

/// What a probe does once it has a socket: the kind of `ProbeKind` without the port, which
/// lives in `ProbeEndpoint` only — with `nodePort: true` the port probed is not the port written.
public enum ProbeAction: Sendable, Hashable {
    /// `count` ICMP echoes.
    case ping(count: Int)
    /// One request on a new connection, `Connection: close`.
    case http(path: String, method: String)
    /// A connection, and the first line the server sends (the agent greets with its pod name).
    case tcp
    /// One datagram and one answer.
    case udp(payload: String)
    /// A command in the source namespace; exit status 0 is an answer.
    case exec([String])
    /// One lookup through the source pod's resolver; any reply is an answer.
    case dns(name: String, type: DNSProbeType)

    /// The action of a decoded probe kind (its port goes into the probe's `ProbeEndpoint`).
    public init(_ kind: ProbeKind) {
        switch kind {
        case .ping(let count): self = .ping(count: count)
        case .http(_, let path, let method): self = .http(path: path, method: method)
        case .tcp: self = .tcp
        case .udp(_, let payload): self = .udp(payload: payload)
        case .exec(let argv): self = .exec(argv)
        case .dns(let name, let type): self = .dns(name: name, type: type)
        }
    }

    /// The key of the kind in a lab file: `ping`, `http`, `tcp`, `udp`, `exec`.
    public var kindName: String {
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

/// Encoded flat, `{"kind": "http", "method": "GET", "path": "/"}`, so a JSON consumer switches
/// on one field instead of on which key happens to be present.
extension ProbeAction: Codable {
    private enum CodingKeys: String, CodingKey {
        case kind, count, path, method, payload, argv, name, type
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try container.decode(String.self, forKey: .kind)
        switch kind {
        case "ping": self = .ping(count: try container.decode(Int.self, forKey: .count))
        case "http": self = .http(path: try container.decode(String.self, forKey: .path),
                                  method: try container.decode(String.self, forKey: .method))
        case "tcp": self = .tcp
        case "udp": self = .udp(payload: try container.decode(String.self, forKey: .payload))
        case "exec": self = .exec(try container.decode([String].self, forKey: .argv))
        case "dns": self = .dns(name: try container.decode(String.self, forKey: .name),
                                type: try container.decode(DNSProbeType.self, forKey: .type))
        default:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "unknown probe kind \(kind)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kindName, forKey: .kind)
        switch self {
        case .ping(let count): try container.encode(count, forKey: .count)
        case .http(let path, let method):
            try container.encode(method, forKey: .method)
            try container.encode(path, forKey: .path)
        case .tcp: break
        case .udp(let payload): try container.encode(payload, forKey: .payload)
        case .exec(let argv): try container.encode(argv, forKey: .argv)
        case .dns(let name, let type):
            try container.encode(name, forKey: .name)
            try container.encode(type, forKey: .type)
        }
    }
}
