import Yams

/// A lab file decoded from YAML, before the cross-object checks of `LabFileValidator`.
struct DecodedLabFile {
    var lab: LabFile
    /// Paths whose value could not be decoded (and was already reported); the model holds a
    /// placeholder there, which the validator must not judge.
    var failedPaths: Set<String>

    /// Whether `path`, or anything it lies within, failed to decode.
    func failed(_ path: String) -> Bool {
        guard !failedPaths.isEmpty else { return false }
        // Walk up the ancestors (`pods[2].ip` → `pods[2]` → `pods`): O(depth), not O(failures).
        var candidate = Substring(path)
        while true {
            if failedPaths.contains(String(candidate)) { return true }
            guard let cut = candidate.lastIndex(where: { $0 == "." || $0 == "[" }) else { return false }
            candidate = candidate[..<cut]
        }
    }
}

/// Turns the YAML tree into a `LabFile`: the shape of every mapping, the type and spelling of every
/// value, and the defaults (docs/architecture.md, "The lab file"). Problems between objects (a pod
/// naming a node that does not exist) are the validator's. Decoding never stops at a problem: a
/// value that cannot be read becomes a placeholder and is listed in `failedPaths`, so one pass
/// reports everything wrong with the file.
struct LabFileDecoder {
    let reader: YAMLReader

    static let topLevelKeys = ["name", "cluster", "networks", "nodes", "pods", "services", "hosts", "probes",
                               "namespaces", "networkPolicies", "scenarios"]
    static let clusterKeys = ["podCIDR", "serviceCIDR", "network", "proxy", "mtu", "neighbours", "dns"]
    static let dnsKeys = ["domain", "clusterIP"]
    static let networkKeys = ["name", "cidr", "link"]
    static let nodeKeys = ["name", "network", "ip", "podCIDR", "link"]
    static let hostKeys = ["name", "network", "ip", "link"]

    static let mtuRange = 576...9216

    func decode(_ root: Node) -> DecodedLabFile? {
        guard let top = reader.fields(root, at: "", allowed: Self.topLevelKeys, nullIsEmpty: false) else { return nil }
        var lab = LabFile(name: "")
        if let node = required(top, "name", "the lab's name, like \"name: demo\"") {
            lab.name = reader.string(node, at: "name") ?? ""
        }
        if let node = top["cluster"] { lab.cluster = cluster(node, at: "cluster") }
        if let node = top["networks"] {
            let networks = elements(node, at: "networks", of: "networks", keys: Self.networkKeys, network)
            if !networks.isEmpty { lab.networks = networks }
        }
        if let node = top["nodes"] { lab.nodes = elements(node, at: "nodes", of: "nodes", keys: Self.nodeKeys, self.node) }
        if let node = top["pods"] { lab.pods = elements(node, at: "pods", of: "pods", keys: Self.podKeys, pod) }
        if let node = top["services"] {
            lab.services = elements(node, at: "services", of: "services", keys: Self.serviceKeys, service)
        }
        if let node = top["hosts"] { lab.hosts = elements(node, at: "hosts", of: "hosts", keys: Self.hostKeys, host) }
        if let node = top["probes"] { lab.probes = elements(node, at: "probes", of: "probes", keys: Self.probeKeys, probe) }
        if let node = top["namespaces"] {
            lab.namespaces = elements(node, at: "namespaces", of: "namespaces", keys: Self.namespaceKeys, namespace)
        }
        if let node = top["networkPolicies"] {
            lab.networkPolicies = elements(node, at: "networkPolicies", of: "network policies", keys: Self.policyKeys,
                                           networkPolicy)
        }
        if let node = top["scenarios"] {
            lab.scenarios = elements(node, at: "scenarios", of: "scenarios", keys: Self.scenarioKeys, scenario)
        }
        // A misspelt section (`node:` for `nodes:`) was reported once, as an unknown key; what
        // is missing because of it (no nodes, pods naming unknown nodes) would only repeat it.
        for key in top.suggested where top[key] == nil { reader.markFailed(key) }
        lab.sourceMap = reader.diagnostics.sourceMap
        return DecodedLabFile(lab: lab, failedPaths: reader.failedPaths)
    }

    // MARK: Sections

    private func cluster(_ node: Node, at path: String) -> ClusterSpec {
        var cluster = ClusterSpec()
        guard let fields = reader.fields(node, at: path, allowed: Self.clusterKeys) else { return cluster }
        if let value = fields["podCIDR"], let cidr = reader.network(value, at: fields.path("podCIDR")) {
            cluster.podCIDR = cidr
        }
        if let value = fields["serviceCIDR"], let cidr = reader.network(value, at: fields.path("serviceCIDR")) {
            cluster.serviceCIDR = cidr
        }
        if let value = fields["network"], let mode: NetworkMode = reader.choice(value, at: fields.path("network"), what: "network mode") {
            cluster.network = mode
        }
        if let value = fields["proxy"], let mode: ProxyMode = reader.choice(value, at: fields.path("proxy"), what: "proxy mode") {
            cluster.proxy = mode
        }
        if let value = fields["neighbours"],
           let mode: NeighbourMode = reader.choice(value, at: fields.path("neighbours"), what: "neighbour mode") {
            cluster.neighbours = mode
        }
        if let value = fields["mtu"], let mtu = reader.int(value, at: fields.path("mtu"), in: Self.mtuRange, what: "mtu") {
            cluster.mtu = mtu
        }
        if let value = fields["dns"] { cluster.dns = dns(value, at: fields.path("dns")) }
        return cluster
    }

    /// `dns: false` (off), `dns: true` (the defaults), or `{domain, clusterIP}`.
    private func dns(_ node: Node, at path: String) -> ClusterDNSSpec? {
        if case .scalar = node, node.tagName == .bool { return reader.bool(node, at: path) == true ? ClusterDNSSpec() : nil }
        var dns = ClusterDNSSpec()
        guard let fields = reader.fields(node, at: path, allowed: Self.dnsKeys) else { return dns }
        if let value = fields["domain"], let domain = reader.string(value, at: fields.path("domain")) {
            dns.domain = domain.hasSuffix(".") ? String(domain.dropLast()) : domain
        }
        if let value = fields["clusterIP"] { dns.clusterIP = reader.address(value, at: fields.path("clusterIP")) }
        return dns
    }

    private func network(_ fields: YAMLFields) -> NetworkSpec {
        var network = NetworkSpec.default
        network.name = requiredString(fields, "name", "the network's name") ?? ""
        if let value = required(fields, "cidr", "the network's address range, like 192.168.1.0/24"),
           let cidr = reader.network(value, at: fields.path("cidr")) {
            network.cidr = cidr
        }
        network.link = link(fields)
        return network
    }

    private func node(_ fields: YAMLFields) -> NodeSpec {
        var node = NodeSpec(name: requiredString(fields, "name", "the node's name") ?? "")
        underlay(fields, into: &node)
        if let value = fields["podCIDR"] { node.podCIDR = reader.network(value, at: fields.path("podCIDR")) }
        return node
    }

    private func host(_ fields: YAMLFields) -> HostSpec {
        var host = HostSpec(name: requiredString(fields, "name", "the host's name") ?? "")
        underlay(fields, into: &host)
        return host
    }

    /// `network`, `ip`, `link`: where a node or host sits on the underlay.
    private func underlay(_ fields: YAMLFields, into machine: inout some UnderlayMachineSpec) {
        machine.network = optionalString(fields, "network")
        if let value = fields["ip"] { machine.ip = reader.address(value, at: fields.path("ip")) }
        machine.link = link(fields)
    }

    // MARK: Shared shapes

    /// Decodes a list of mappings. An element that is not a mapping still yields a placeholder
    /// so that `pods[3]` in the model is `pods[3]` in the file and in every message.
    func elements<Element>(_ node: Node, at path: String, of what: String, keys: [String],
                           _ decode: (YAMLFields) -> Element) -> [Element] {
        elements(node, at: path, of: what, keys: keys, skipping: []) { decode($0) }.map { $0! }
    }

    /// As `elements`, nil for the items at `skipped` (by index), which are not read at all.
    func elements<Element>(_ node: Node, at path: String, of what: String, keys: [String], skipping skipped: Set<Int>,
                           _ decode: (YAMLFields) -> Element) -> [Element?] {
        guard let items = reader.list(node, at: path, of: what) else { return [] }
        return items.enumerated().map { index, item in
            if skipped.contains(index) { return nil }
            let fields = reader.fields(item.node, at: item.path, allowed: keys, nullIsEmpty: false)
            if fields == nil { reader.markFailed(item.path) }
            return decode(fields ?? YAMLFields(path: item.path, node: nil))
        }
    }

    /// The value of a key the mapping must have; reports its absence at the mapping.
    func required(_ fields: YAMLFields, _ key: String, _ meaning: String) -> Node? {
        if let value = fields[key] { return value }
        // A mapping that is itself unusable was reported already, and so was a misspelling of
        // this very key ("did you mean …").
        if reader.failedPaths.contains(fields.path) || fields.suggested.contains(key) {
            reader.markFailed(fields.path(key))
            return nil
        }
        let position = fields.node.map(reader.position(of:)) ?? reader.diagnostics.sourceMap.position(of: fields.path)
        reader.diagnostics.error(fields.path, at: position, "missing required key \"\(key)\" (\(meaning))")
        reader.markFailed(fields.path(key))
        return nil
    }

    func requiredString(_ fields: YAMLFields, _ key: String, _ meaning: String) -> String? {
        guard let value = required(fields, key, meaning) else { return nil }
        return reader.string(value, at: fields.path(key))
    }

    func optionalString(_ fields: YAMLFields, _ key: String) -> String? {
        fields[key].flatMap { reader.string($0, at: fields.path(key)) }
    }

    /// A mapping of text to text (labels, selectors, env). Values may be any scalar: `tier: 1`
    /// and `debug: true` mean the text written.
    func stringMap(_ node: Node, at path: String, what: String) -> [String: String] {
        guard let fields = reader.freeFields(node, at: path, what: what) else { return [:] }
        var result: [String: String] = [:]
        for entry in fields.entries {
            if let text = reader.string(entry.value, at: entry.path) { result[entry.key] = text }
        }
        return result
    }

    /// A list of text (argv): `[sleep, 10]` is the two words written.
    func stringList(_ node: Node, at path: String, of what: String) -> [String]? {
        if case .scalar(let scalar) = node, !reader.isNull(node) {
            let words = scalar.string.split(separator: " ").map { $0.contains(",") ? "\"\($0)\"" : String($0) }
            reader.fail(path, at: node, "expected a list of \(what), found \(reader.describe(node)); write it as [\(words.joined(separator: ", "))]")
            return nil
        }
        guard let items = reader.list(node, at: path, of: what) else { return nil }
        let strings = items.map { reader.string($0.node, at: $0.path) }
        return strings.contains(where: { $0 == nil }) ? nil : strings.compactMap { $0 }
    }
}
