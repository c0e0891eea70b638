/// A pod's `/etc/resolv.conf` as kubelet writes it for `dnsPolicy: ClusterFirst`, and the
/// order in which glibc's resolver tries names with it.
public struct ResolverConfiguration: Sendable, Hashable {
    public var nameservers: [String]
    public var search: [String]
    public var ndots: Int

    public init(nameservers: [String], search: [String], ndots: Int = 5) {
        self.nameservers = nameservers
        self.search = search
        self.ndots = ndots
    }

    /// kubelet's ClusterFirst file: the cluster DNS address, `<ns>.svc.<domain> svc.<domain>
    /// <domain>`, and exactly `ndots:5` (host search domains and options are left out, so a
    /// lab does not depend on the machine it runs on).
    public static func clusterFirst(namespace: String, domain: String = "cluster.local", nameserver: String) -> ResolverConfiguration {
        ResolverConfiguration(nameservers: [nameserver], search: ["\(namespace).svc.\(domain)", "svc.\(domain)", domain], ndots: 5)
    }

    /// The file's text.
    public var text: String {
        nameservers.map { "nameserver \($0)\n" }.joined() + "search \(search.joined(separator: " "))\noptions ndots:\(ndots)\n"
    }

    /// A `resolv.conf` as glibc reads it (`resolv/res_init.c`): every `nameserver`, the last
    /// `search` or `domain` line, `options ndots:N` capped at 15 (1 when absent); comments
    /// (`#`, `;`) and lines it does not use are skipped. `text` read back is itself.
    public init(parsing text: String) {
        var nameservers: [String] = [], search: [String] = [], ndots = 1
        for line in text.split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = words.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            switch keyword {
            case "nameserver" where words.count > 1: nameservers.append(words[1])
            case "search", "domain": search = Array(words.dropFirst())
            case "options":
                for option in words.dropFirst() where option.hasPrefix("ndots:") {
                    if let value = Int(option.dropFirst(6)) { ndots = min(max(value, 0), 15) }
                }
            default: continue
            }
        }
        self.init(nameservers: nameservers, search: search, ndots: ndots)
    }

    /// The names glibc queries for `name`, in order (`__res_context_search` in
    /// `resolv/res_query.c`), each absolute with a trailing dot:
    /// - a trailing dot makes the name absolute: only it is tried;
    /// - with at least `ndots` dots the name is tried as it is first, then with each search
    ///   suffix;
    /// - with fewer, each suffix first, and the name as it is last.
    /// glibc moves on to the next candidate after NXDOMAIN, NODATA and SERVFAIL, and stops at
    /// the first answer or at a timeout.
    public func candidates(for name: String) -> [String] {
        guard !name.isEmpty else { return [] }
        if name.hasSuffix(".") { return [name] }
        let dots = name.filter { $0 == "." }.count
        let suffixed = search.map { "\(name).\($0.hasSuffix(".") ? String($0.dropLast()) : $0)." }
        return dots >= ndots ? ["\(name)."] + suffixed : suffixed + ["\(name)."]
    }
}
