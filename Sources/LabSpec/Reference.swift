/// A reference to an object of the lab as written in a lab file: bare (`web-1`) or qualified
/// (`pod/web-1`, `node/node-1`, `host/laptop`, `service/web`).
public struct Reference: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case pod, node, host, service
    }

    /// nil when the reference was bare; resolution then searches pods, nodes and hosts.
    public var kind: Kind?
    public var name: String

    public init(kind: Kind?, name: String) {
        self.kind = kind
        self.name = name
    }

    /// Parses `name` or `kind/name`; nil for an unknown kind or an empty part.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1 where !parts[0].isEmpty:
            self.init(kind: nil, name: String(parts[0]))
        case 2 where !parts[1].isEmpty:
            guard let kind = Kind(rawValue: String(parts[0])) else { return nil }
            self.init(kind: kind, name: String(parts[1]))
        default:
            return nil
        }
    }

    public var description: String { kind.map { "\($0.rawValue)/\(name)" } ?? name }
}
