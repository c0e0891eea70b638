import Testing
@testable import LabSpec

/// Probes (docs/architecture.md, "Probes"): shape, references, nodePort, expectations and their
/// text formats.
@Suite struct ProbeValidationTests {
    /// Ten lines; the probes of each test start on line 11.
    static let base = """
    name: demo
    nodes: [{name: node-1}]
    pods:
      - {name: web-1, node: node-1, labels: {app: web}}
      - {name: client, node: node-1}
    hosts: [{name: laptop}]
    services:
      - {name: web, selector: {app: web}, ports: [{port: 80}]}
      - {name: np, type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 30080}]}
    probes:

    """

    static func errors(_ probes: String) -> [String] {
        Lab.errors(base + probes).map(\.description)
    }

    @Test func unknownReferencesSuggestTheClosestName() {
        #expect(Self.errors("  - {from: clinet, to: web-1, ping: {}}\n") == [
            "lab.yaml:11:12: probes[0].from: unknown pod, node or host \"clinet\"; did you mean \"client\"?",
        ])
        #expect(Self.errors("  - {from: client, to: service/ghost, tcp: {port: 80}}\n") == [
            "lab.yaml:11:24: probes[0].to: unknown service \"ghost\" (services: np, web)",
        ])
        #expect(Self.errors("  - {from: client, to: node/web-1, ping: {}}\n") == [
            "lab.yaml:11:24: probes[0].to: unknown node \"web-1\"; \"web-1\" is a pod (nodes: node-1)",
        ])
    }

    @Test func malformedReferenceSuggestsTheKind() {
        #expect(Self.errors("  - {from: client, to: pods/web-1, tcp: {port: 80}}\n") == [
            "lab.yaml:11:24: probes[0].to: \"pods/web-1\" is not a reference: write a name, or pod/, node/, host/ or service/ and a name; did you mean \"pod/web-1\"?",
        ])
    }

    @Test func ambiguousBareNameSuggestsQualifiedForms() {
        // A clash across kinds is an error of its own; the reference is ambiguous on top of it.
        let errors = Lab.errors(Self.base.replacingOccurrences(of: "hosts: [{name: laptop}]", with: "hosts: [{name: client}]")
            + "  - {from: laptop, to: client, ping: {}}\n  - {from: node-1, to: host/client, ping: {}}\n")
        #expect(errors.map(\.description).contains(
            "lab.yaml:11:24: probes[0].to: \"client\" is ambiguous: it names a pod and a host; write pod/client or host/client"))
        #expect(errors.contains { $0.path == "hosts[0].name" && $0.message.contains("share one name space") })
        #expect(!errors.contains { $0.path == "probes[1].to" })
    }

    @Test func sameServiceNameInTwoNamespacesNeedsTheNamespace() throws {
        let text = Self.base.replacingOccurrences(of: "probes:\n", with: "") + """
          - {name: web, namespace: prod, selector: {app: web}, ports: [{port: 80}]}
        probes:
          - {from: client, to: service/web, tcp: {port: 80}}
        """
        #expect(Lab.errors(text).map(\.message) == [
            "there is a service \"web\" in several namespaces (default, prod); write service/web.<namespace>",
        ])
        let fixed = try Lab.load(text.replacingOccurrences(of: "to: service/web,", with: "to: service/web.prod,"))
        #expect(fixed.lab.probes[0].to == .object(Reference(kind: .service, name: "web.prod")))
        #expect(fixed.lab.resolve(Reference(kind: .service, name: "web.prod")) == .service(2))
        #expect(fixed.lab.resolve(Reference(kind: .service, name: "web")) == .ambiguous([.service]))
    }

    @Test func probeSourceIsAPodNodeOrHost() {
        #expect(Self.errors("  - {from: service/web, to: web-1, tcp: {port: 80}}\n  - {from: 10.0.0.1, to: web-1, ping: {}}\n  - {from: web, to: web-1, ping: {}}\n") == [
            "lab.yaml:11:12: probes[0].from: a probe runs from a pod, node or host, not from a service",
            "lab.yaml:12:12: probes[1].from: a probe runs from a pod, node or host, not from an address",
            "lab.yaml:13:12: probes[2].from: \"web\" is a service; write service/web",
        ])
    }

    @Test func aServiceIsReachedOnItsPortsOnly() {
        #expect(Self.errors("  - {from: client, to: service/web, ping: {}}\n") == [
            "lab.yaml:11:24: probes[0].to: ping cannot reach service \"web\": a service answers on its ports only; use http, tcp or udp",
        ])
    }

    @Test func probeShapeDependsOnItsKind() {
        #expect(Self.errors("""
          - {from: client, tcp: {port: 80}}
          - {to: web-1, tcp: {port: 80}}
          - {from: client, to: web-1, exec: [true]}
          - {exec: [true]}
          - {matrix: {from: "*", to: "*"}, exec: [true]}
          - {from: client, to: web-1}
          - {from: client, to: web-1, matrix: {from: "*", to: "*"}, ping: {}}
          - {from: client, to: web-1, http: {port: 80}, tcp: {port: 80}}

        """) == [
            "lab.yaml:11:5: probes[0]: missing required key \"to\" (a pod, service, node, host, IPv4 address or DNS name)",
            "lab.yaml:12:5: probes[1]: missing required key \"from\" (the pod, node or host the probe starts from)",
            "lab.yaml:13:20: probes[2].to: an exec probe runs its command in \"from\" and has no \"to\"",
            "lab.yaml:14:5: probes[3]: missing required key \"from\" (the pod, node or host the command runs in)",
            "lab.yaml:15:6: probes[4].matrix: an exec probe runs in one place: give it \"from\", not a matrix",
            "lab.yaml:16:5: probes[5]: a probe needs one kind: ping, http, tcp, udp, exec or dns",
            "lab.yaml:17:31: probes[6].matrix: a probe has either from and to, or a matrix, not both",
            "lab.yaml:18:49: probes[7].tcp: a probe has one kind, but \"http\" and \"tcp\" are both given; split it into two probes",
        ])
    }

    @Test func nodePortProbesNeedANodePortServiceWithThatPort() {
        #expect(Self.errors("""
          - {from: laptop, to: service/np, http: {port: 80, nodePort: true}}
          - {from: client, to: service/web, http: {port: 80, nodePort: true}}
          - {from: client, to: service/np, udp: {port: 80, nodePort: true}}
          - {from: client, to: web-1, tcp: {port: 80, nodePort: true}}
          - {from: client, to: web-1, tcp: {port: 80, nodePort: false}}

        """) == [
            "lab.yaml:12:64: probes[1].http.nodePort: nodePort: true needs a NodePort service, but \"web\" is ClusterIP",
            "lab.yaml:13:62: probes[2].udp.nodePort: service \"np\" has no port 80/UDP to reach through its node port (ports: 80/TCP)",
            "lab.yaml:14:57: probes[3].tcp.nodePort: nodePort: true needs a service as \"to\", like to: service/web",
        ])
    }

    @Test func expectationsMustBeObservableByTheKind() {
        #expect(Self.errors("""
          - {from: client, to: web-1, tcp: {port: 80}, expect: {status: 200, rtt: "<5ms", clientIP: client}}
          - {from: client, to: web-1, ping: {}, expect: {reach: false, loss: "0%"}}

        """) == [
            "lab.yaml:11:57: probes[0].expect.status: status cannot be observed by a tcp probe (only by http)",
            "lab.yaml:11:70: probes[0].expect.rtt: rtt cannot be observed by a tcp probe (only by ping)",
            "lab.yaml:11:83: probes[0].expect.clientIP: clientIP cannot be observed by a tcp probe (only by http, udp)",
            "lab.yaml:12:64: probes[1].expect.loss: loss has no meaning with reach: false",
        ])
    }

    @Test func servedByListsKnownPodsAndNeedsEnoughTries() {
        #expect(Self.errors("  - {from: client, to: service/web, http: {port: 80}, expect: {servedBy: [node-1, web-9, web-1]}, repeat: 2}\n") == [
            "lab.yaml:11:74: probes[0].expect.servedBy: servedBy lists 3 pods but the probe runs 2 times; every listed pod must answer, so set repeat to at least 3 (about 10 per pod is reliable)",
            "lab.yaml:11:75: probes[0].expect.servedBy[0]: \"node-1\" is a node; servedBy lists the pods expected to answer",
            "lab.yaml:11:83: probes[0].expect.servedBy[1]: unknown pod \"web-9\"; did you mean \"web-1\"? (pods: client, web-1)",
        ])
    }

    @Test func clientIPIsAMachineOrAnAddress() {
        #expect(Self.errors("""
          - {from: client, to: web-1, http: {port: 80}, expect: {clientIP: service/web}}
          - {from: client, to: web-1, http: {port: 80}, expect: {clientIP: 10.0.0.1}}
          - {from: client, to: web-1, http: {port: 80}, expect: {clientIP: nobody}}
          - {from: client, to: web-1, udp: {port: 80}, expect: {clientIP: node/node-1}}

        """) == [
            "lab.yaml:11:68: probes[0].expect.clientIP: clientIP is a pod, node or host (whose address the server should see) or an IPv4 address, not a service",
            "lab.yaml:13:68: probes[2].expect.clientIP: unknown pod, node or host \"nobody\"; clientIP may also be an IPv4 address",
        ])
    }

    @Test func textFormatsOfExpectationsAndTimeoutsAreChecked() {
        #expect(Self.errors("""
          - {from: client, to: web-1, ping: {}, expect: {rtt: "fast", loss: "101%"}, timeout: 2, retries: -1}
          - {from: client, to: web-1, http: {port: 80, path: hostname, method: get}, timeout: 0.5ms}
          - {from: client, to: web-1, http: {port: 80}, expect: {status: 999}, repeat: 0, timeout: 11m}

        """) == [
            "lab.yaml:11:55: probes[0].expect.rtt: \"fast\" is not a round-trip time bound like \"<5ms\" or \"<=1.5ms\"",
            "lab.yaml:11:69: probes[0].expect.loss: \"101%\" is not a loss bound like \"0%\" or \"<1%\" (0 to 100 percent)",
            "lab.yaml:11:87: probes[0].timeout: \"2\" is not a duration like \"2s\", \"500ms\" or \"1.5s\"; add a unit, like \"2s\"",
            "lab.yaml:11:99: probes[0].retries: retries -1 is out of range 0...100",
            "lab.yaml:12:54: probes[1].http.path: an HTTP path starts with \"/\"; did you mean \"/hostname\"?",
            "lab.yaml:12:72: probes[1].http.method: \"get\" is not an HTTP method like GET or POST; did you mean \"GET\"?",
            "lab.yaml:12:87: probes[1].timeout: \"0.5ms\" is not a duration like \"2s\", \"500ms\" or \"1.5s\"; durations are whole milliseconds",
            "lab.yaml:13:66: probes[2].expect.status: HTTP status 999 is out of range 100...599",
            "lab.yaml:13:80: probes[2].repeat: repeat 0 is out of range 1...10000",
            "lab.yaml:13:92: probes[2].timeout: a timeout of 11m is out of range 1ms...10m",
        ])
    }

    @Test func matrixSidesResolveAndEmptySelectorsWarn() throws {
        #expect(Self.errors("  - {matrix: {from: [client, laptop], to: [web-1, ghost, service/web]}, ping: {}}\n") == [
            "lab.yaml:11:51: probes[0].matrix.to[1]: unknown pod, node or host \"ghost\"",
            "lab.yaml:11:58: probes[0].matrix.to[2]: ping cannot reach service \"web\": a service answers on its ports only; use http, tcp or udp",
        ])
        let loaded = try Lab.load(Self.base + "  - {matrix: {from: {app: nope}, to: web-1}, ping: {}}\n")
        #expect(loaded.warnings.map(\.description) == [
            "lab.yaml:11:21: warning: probes[0].matrix.from: selector app=nope matches no pod, so this side of the matrix is empty",
        ])
        #expect(loaded.lab.probes[0].matrix == MatrixSpec(from: .selector(["app": "nope"]), to: .names([Reference(kind: nil, name: "web-1")])))
        #expect(Self.errors("  - {matrix: {from: [], to: {}}, ping: {}}\n") == [
            "lab.yaml:11:21: probes[0].matrix.from: an empty list; name at least one pod, node or host, or write \"*\"",
            "lab.yaml:11:29: probes[0].matrix.to: an empty selector; write \"*\" for every pod",
        ])
    }
}
