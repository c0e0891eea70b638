import Yams

/// The entries of one YAML mapping after merge keys were applied and unknown and repeated
/// keys were reported and dropped: what is left is safe to decode by key.
struct YAMLFields {
    struct Entry {
        var key: String
        var keyNode: Node
        var value: Node
        /// `pods[0].labels`: the path of the entry's value.
        var path: String
    }

    /// The path of the mapping itself.
    let path: String
    /// The mapping node; nil when the mapping was absent or null (an empty mapping).
    let node: Node?
    private(set) var entries: [Entry]
    /// Allowed keys that an unknown key of this mapping was taken for ("did you mean"): a
    /// required one among them is not reported missing as well — one typo, one error.
    var suggested: Set<String> = []

    init(path: String, node: Node?, entries: [Entry] = [], suggested: Set<String> = []) {
        self.path = path
        self.node = node
        self.entries = entries
        self.suggested = suggested
    }

    subscript(key: String) -> Node? { entries.first { $0.key == key }?.value }

    /// The path of `key` below this mapping, whether or not it was written.
    func path(_ key: String) -> String { YAMLPath.child(path, key) }
}

/// The path convention of `SourceMap`: `pods[2].labels.app`.
enum YAMLPath {
    static func child(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    static func element(_ path: String, _ index: Int) -> String { "\(path)[\(index)]" }
}
