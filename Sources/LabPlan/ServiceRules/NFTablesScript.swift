/// An `nft -f` script for kube-proxy's table, written command by command the way knftables
/// serialises a transaction (`add chain ip kube-proxy …`). nft applies a whole file as one
/// transaction: either every command takes effect or none does.
struct NFTablesScript {
    private(set) var lines: [String] = []
    private var elements: Set<String> = []
    let family = "ip"
    let table: String

    init(table: String = NFTablesChainNames.table) { self.table = table }

    mutating func command(_ text: String) { lines.append(text) }

    mutating func addChain(_ name: String, _ properties: String? = nil) {
        command("add chain \(family) \(table) \(name)" + (properties.map { " { \($0) ; }" } ?? ""))
    }

    /// A base chain on a netfilter hook; priorities are numeric (−110, 0, −100, 100) rather
    /// than `dstnat-10`, which every nft version reads the same way.
    mutating func addBaseChain(_ name: String, type: String, hook: String, priority: Int) {
        addChain(name, "type \(type) hook \(hook) priority \(priority)")
    }

    mutating func addRule(_ chain: String, _ rule: String, comment: String? = nil) {
        command("add rule \(family) \(table) \(chain) \(rule)" + (comment.map { " comment \"\($0)\"" } ?? ""))
    }

    mutating func addSet(_ name: String, _ properties: String) {
        command("add set \(family) \(table) \(name) { \(properties) ; }")
    }

    mutating func addMap(_ name: String, type: String, comment: String) {
        command("add map \(family) \(table) \(name) { type \(type) ; comment \"\(comment)\" ; }")
    }

    /// `add element … { key : value }`, with kube-proxy's optional per-element comment. A key
    /// already added is skipped, as kube-proxy's `nftElementStorage.ensureElem` skips it: two
    /// ports of one service share their ClusterIP's `cluster-ips` element.
    mutating func addElement(_ setOrMap: String, key: String, value: String? = nil, comment: String? = nil) {
        guard elements.insert("\(setOrMap) \(key)").inserted else { return }
        let commented = key + (comment.map { " comment \"\($0)\"" } ?? "")
        command("add element \(family) \(table) \(setOrMap) { \(commented)" + (value.map { " : \($0)" } ?? "") + " }")
    }

    var text: String { lines.joined(separator: "\n") + "\n" }
}
