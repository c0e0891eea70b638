import Testing
import LabAddress
@testable import LabSpec

/// Probes by name (`to:` a DNS name) and the `dns:` probe kind: how a name is told from a
/// reference, and what each may expect.
@Suite struct DNSProbeSpecTests {
    /// Ten lines; the probes of each test start on line 11.
    static let base = """
    name: demo
    nodes: [{name: node-1}]
    pods:
      - {name: web-1, node: node-1, labels: {app: web}}
      - {name: client, node: node-1}
    hosts: [{name: laptop}]
    services:
      - {name: web, selector: {app: web}, ports: [{name: http, port: 80}]}
      - {name: cart, namespace: store, selector: {app: web}, ports: [{port: 80}]}
    probes:

    """

    static func errors(_ probes: String) -> [String] {
        Lab.errors(base + probes).map(\.description)
    }

    static func probes(_ probes: String) throws -> [ProbeSpec] {
        try Lab.load(base + probes).lab.probes
    }

    @Test func aTargetWithADotOrDnsPrefixIsAName() throws {
        let probes = try Self.probes("""
          - {from: client, to: cart.store, http: {port: 80}}
          - {from: client, to: web.default.svc.cluster.local., tcp: {port: 80}}
          - {from: client, to: dns:web, ping: {}}
          - {from: client, to: web-1, ping: {}}
          - {from: client, to: 10.96.0.1, ping: {}}
          - {from: client, to: service/cart.store, tcp: {port: 80}}

        """)
        #expect(probes.map(\.to) == [
            .name("cart.store"), .name("web.default.svc.cluster.local."), .name("web"),
            .object(Reference(kind: nil, name: "web-1")), .address(IPv4Address(10, 96, 0, 1)),
            .object(Reference(kind: .service, name: "cart.store")),
        ])
    }

    @Test func aSingleLabelStaysAReferenceAndTheErrorOffersTheName() {
        #expect(Self.errors("  - {from: client, to: web, http: {port: 80}}\n") == [
            "lab.yaml:11:24: probes[0].to: \"web\" is a service; write service/web, or dns:web to look it up by name",
        ])
        #expect(Self.errors("  - {from: client, to: wbe-1, ping: {}}\n") == [
            "lab.yaml:11:24: probes[0].to: unknown pod, node or host \"wbe-1\"; did you mean \"web-1\"?",
        ])
    }

    @Test func malformedNamesAreRejectedWhereTheyAreWritten() {
        #expect(Self.errors("  - {from: client, to: cart..store, ping: {}}\n") == [
            "lab.yaml:11:24: probes[0].to: \"cart..store\" is not a DNS name: it has an empty label (two dots in a row, or a leading dot) (a target with a dot is a DNS name; pods, nodes and hosts have none)",
        ])
        #expect(Self.errors("  - {from: client, to: 10.96.0, ping: {}}\n") == [
            "lab.yaml:11:24: probes[0].to: \"10.96.0\" is neither an IPv4 address nor a DNS name (a target with a dot is a DNS name; pods, nodes and hosts have none)",
        ])
        #expect(Self.errors("  - {from: client, to: \"dns:\", ping: {}}\n") == [
            "lab.yaml:11:24: probes[0].to: \"\" is not a DNS name: it is empty",
        ])
        #expect(Self.errors("  - {from: client, to: \"dns:we b\", ping: {}}\n") == [
            "lab.yaml:11:24: probes[0].to: \"we b\" is not a DNS name: it may only contain letters, digits, \"-\", \"_\" and dots (found U+20)",
        ])
    }

    @Test func namesResolveFromPodsOnly() {
        #expect(Self.errors("  - {from: node-1, to: cart.store, http: {port: 80}}\n") == [
            "lab.yaml:11:12: probes[0].from: a probe to the name \"cart.store\" runs from a pod: only pods use the cluster DNS (nodes and hosts keep the host's resolver)",
        ])
        #expect(Self.errors("  - {from: laptop, dns: {name: web}}\n") == [
            "lab.yaml:11:12: probes[0].from: a dns probe runs from a pod: only pods use the cluster DNS (nodes and hosts keep the host's resolver)",
        ])
    }

    @Test func namesNeedTheClusterDNS() {
        let off = Self.base.replacingOccurrences(of: "nodes: [{name: node-1}]", with: "cluster: {dns: false}\nnodes: [{name: node-1}]")
        #expect(Lab.errors(off + "  - {from: client, to: cart.store, http: {port: 80}}\n  - {from: client, dns: {name: web}}\n").map(\.description) == [
            "lab.yaml:12:24: probes[0].to: a probe to the name \"cart.store\" needs the cluster DNS, but the lab turns it off (cluster.dns: false); remove that, or name the target (service/…, a pod, an address)",
            "lab.yaml:13:25: probes[1].dns: a dns probe needs the cluster DNS, but the lab turns it off (cluster.dns: false); remove that, or name the target (service/…, a pod, an address)",
        ])
    }

    @Test func aNameCannotGoThroughANodePortOrBeJudgedByPolicy() {
        #expect(Self.errors("  - {from: client, to: web.default, tcp: {port: 80, nodePort: true}}\n") == [
            "lab.yaml:11:63: probes[0].tcp.nodePort: nodePort: true needs a service as \"to\", like to: service/web, not the name \"web.default\" (a name resolves to the ClusterIP)",
        ])
        #expect(Self.errors("  - {from: client, to: web.default, tcp: {port: 80}, expect: {reach: policy}}\n") == [
            "lab.yaml:11:70: probes[0].expect.reach: reach: policy needs a target the plan knows, but \"web.default\" is only resolved when the probe runs; write the service (service/…) or the pod",
        ])
    }

    @Test func dnsProbesDecode() throws {
        let probes = try Self.probes("""
          - {from: client, dns: {name: cart.store}, expect: {answers: [10.96.0.50]}}
          - {from: client, dns: {name: _http._tcp.web, type: SRV}, expect: {answers: ["0 100 80 web.default.svc.cluster.local."]}}
          - {from: client, dns: {name: 10.96.0.10, type: ptr}, expect: {answers: [kube-dns.kube-system.svc.cluster.local]}}
          - {from: client, dns: {name: web.nope, type: A}, expect: {rcode: nxdomain}}
          - {from: client, dns: {name: web, type: AAAA}, expect: {rcode: NOERROR, answers: []}}

        """)
        #expect(probes.map(\.kind) == [
            .dns(name: "cart.store", type: .a), .dns(name: "_http._tcp.web", type: .srv), .dns(name: "10.96.0.10", type: .ptr),
            .dns(name: "web.nope", type: .a), .dns(name: "web", type: .aaaa),
        ])
        #expect(probes[0].expect.answers == ["10.96.0.50"])
        #expect(probes[3].expect.rcode == .nameError)
        #expect(probes[4].expect.answers == [] && probes[4].expect.rcode == .noError)
    }

    @Test func dnsProbeMistakesArePointedAt() {
        #expect(Self.errors("  - {from: client, dns: {name: web, type: MX}}\n") == [
            "lab.yaml:11:43: probes[0].dns.type: \"MX\" is not a record type a dns probe asks for (A, AAAA, SRV, PTR)",
        ])
        #expect(Self.errors("  - {from: client, dns: {type: A}}\n") == [
            "lab.yaml:11:25: probes[0].dns: missing required key \"name\" (the name to look up, like cart.store)",
        ])
        #expect(Self.errors("  - {from: client, dns: {name: web}, expect: {rcode: NOPE}}\n") == [
            "lab.yaml:11:54: probes[0].expect.rcode: \"NOPE\" is not a response code a dns probe can expect (NOERROR, SERVFAIL, NXDOMAIN, REFUSED)",
        ])
        #expect(Self.errors("  - {from: client, to: web-1, dns: {name: web}}\n") == [
            "lab.yaml:11:20: probes[0].to: a dns probe asks the source pod's nameserver (the cluster DNS) and has no \"to\"; the name goes in dns.name",
        ])
        #expect(Self.errors("  - {from: client, dns: {name: web}, expect: {answers: [web-1]}}\n") == [
            "lab.yaml:11:57: probes[0].expect.answers[0]: \"web-1\" is not an IPv4 address (an A answer)",
        ])
        #expect(Self.errors("  - {from: client, dns: {name: _http._tcp.web, type: SRV}, expect: {answers: [\"80\"]}}\n").first?
            .contains("is not an SRV answer: write \"priority weight port target\"") == true)
        #expect(Self.errors("  - {from: client, dns: {name: web}, expect: {rcode: NXDOMAIN, answers: [10.0.0.1]}}\n") == [
            "lab.yaml:11:64: probes[0].expect.answers: answers come with NOERROR only, but rcode is NXDOMAIN; drop one of them",
        ])
        #expect(Self.errors("  - {from: client, to: web-1, http: {port: 80}, expect: {rcode: NXDOMAIN}}\n") == [
            "lab.yaml:11:58: probes[0].expect.rcode: rcode cannot be observed by a http probe (only by dns)",
        ])
        #expect(Self.errors("  - {from: client, dns: {name: web}, expect: {status: 200}}\n") == [
            "lab.yaml:11:47: probes[0].expect.status: status cannot be observed by a dns probe (only by http)",
        ])
    }

    @Test func dnsNameRules() {
        #expect(NameRules.dnsName("_http._tcp.web.default.svc.cluster.local.") == nil)
        #expect(NameRules.dnsName("Web.Default") == nil)
        #expect(NameRules.dnsName(".") != nil)
        #expect(NameRules.dnsName(String(repeating: "a", count: 64) + ".b")?.contains("longer than 63") == true)
        #expect(NameRules.dnsName(Array(repeating: "abcdefghi", count: 26).joined(separator: "."))?.contains("253") == true)
        #expect(NameRules.dnsName("1.2.3.4.5") == "is neither an IPv4 address nor a DNS name")
    }
}
