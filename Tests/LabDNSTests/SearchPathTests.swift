import Testing
import LabDNS

/// glibc's walk of the search list with kubelet's `ndots:5`.
@Suite struct SearchPathTests {
    static let pod = ResolverConfiguration.clusterFirst(namespace: "x", nameserver: "10.96.0.10")

    @Test func resolvConfText() {
        #expect(Self.pod.text == "nameserver 10.96.0.10\nsearch x.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n")
    }

    /// The file the lab writes reads back as itself; a host's file as glibc reads it.
    @Test func resolvConfTextReadsBack() {
        #expect(ResolverConfiguration(parsing: Self.pod.text) == Self.pod)
        let host = ResolverConfiguration(parsing: "# generated\ndomain corp\nnameserver 10.0.0.2\n; old\nsearch a b\nnameserver 10.0.0.3\noptions rotate ndots:20\n")
        #expect(host == ResolverConfiguration(nameservers: ["10.0.0.2", "10.0.0.3"], search: ["a", "b"], ndots: 15))
        #expect(ResolverConfiguration(parsing: "nameserver 10.0.0.2\n").ndots == 1)
    }

    @Test func fewerDotsThanNdotsTriesTheSuffixesFirst() {
        #expect(Self.pod.candidates(for: "s-x-a") == ["s-x-a.x.svc.cluster.local.", "s-x-a.svc.cluster.local.", "s-x-a.cluster.local.", "s-x-a."])
        #expect(Self.pod.candidates(for: "s-y-a.y") == ["s-y-a.y.x.svc.cluster.local.", "s-y-a.y.svc.cluster.local.", "s-y-a.y.cluster.local.", "s-y-a.y."])
        // Four dots is still below five: a fully qualified service name costs three misses first.
        #expect(Self.pod.candidates(for: "web.default.svc.cluster.local").first == "web.default.svc.cluster.local.x.svc.cluster.local.")
        #expect(Self.pod.candidates(for: "web.default.svc.cluster.local").last == "web.default.svc.cluster.local.")
        #expect(Self.pod.candidates(for: "example.com").count == 4, "with A and AAAA each, 8 wire queries (10 with a host search domain)")
    }

    @Test func atLeastNdotsTriesTheNameFirst() {
        #expect(Self.pod.candidates(for: "a.b.c.d.e.f") == ["a.b.c.d.e.f.", "a.b.c.d.e.f.x.svc.cluster.local.",
                                                            "a.b.c.d.e.f.svc.cluster.local.", "a.b.c.d.e.f.cluster.local."])
        // "a.b.c.d.e.f" above has exactly five dots: enough. Four is not.
        #expect(Self.pod.candidates(for: "a.b.c.d.e").first == "a.b.c.d.e.x.svc.cluster.local.")
        var one = Self.pod
        one.ndots = 1
        #expect(one.candidates(for: "web.default") == ["web.default.", "web.default.x.svc.cluster.local.",
                                                       "web.default.svc.cluster.local.", "web.default.cluster.local."])
    }

    @Test func aTrailingDotIsAbsolute() {
        #expect(Self.pod.candidates(for: "web.default.svc.cluster.local.") == ["web.default.svc.cluster.local."])
        #expect(Self.pod.candidates(for: "web.") == ["web."])
        #expect(Self.pod.candidates(for: "") == [])
    }
}
