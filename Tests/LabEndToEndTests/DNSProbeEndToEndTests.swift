import Foundation
import Testing

/// Probes by name and `dns` probes in a real lab: two Kubernetes namespaces, the built-in
/// cluster DNS behind the kube-dns ClusterIP, lookups made from inside the source pods.
@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct DNSProbeEndToEndTests {
    static func yaml(_ name: String, policy: Bool = false) -> String {
        var text = """
        name: \(name)
        nodes: [{name: node-1}, {name: node-2}]
        pods:
          - {name: client, node: node-1, labels: {role: client}}
          - {name: web-1, node: node-1, labels: {app: web}, containers: [{name: a, agent: {http: [8080]}}]}
          - {name: shopper, namespace: store, node: node-2}
          - {name: cart-1, namespace: store, node: node-2, labels: {app: cart}, containers: [{name: a, agent: {http: [8080]}}]}
        services:
          - {name: web, clusterIP: 10.96.0.20, selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
          - {name: cart, namespace: store, clusterIP: 10.96.0.30, selector: {app: cart}, ports: [{name: http, port: 80, targetPort: 8080}]}
        probes:
          - {name: short name, from: client, to: dns:web, http: {port: 80, path: /hostname}, expect: {body: web-1}}
          - {name: svc.ns, from: client, to: cart.store, http: {port: 80, path: /hostname}, expect: {body: cart-1}}
          - {name: fqdn, from: shopper, to: web.default.svc.cluster.local., tcp: {port: 80}}
          - {name: short name in store, from: shopper, to: dns:cart, tcp: {port: 80}}
          - {name: A, from: shopper, dns: {name: web.default}, expect: {answers: [10.96.0.20]}}
          - {name: SRV, from: client, dns: {name: _http._tcp.cart.store, type: SRV}, expect: {answers: ["80 cart.store.svc.cluster.local"]}}
          - {name: PTR, from: client, dns: {name: 10.96.0.30, type: PTR}, expect: {answers: [cart.store.svc.cluster.local]}}
          - {name: NXDOMAIN, from: client, dns: {name: nope.default.svc.cluster.local., type: A}, expect: {rcode: NXDOMAIN}}

        """
        if policy {
            text += """
            networkPolicies:
              - {name: no-egress, namespace: default, podSelector: {matchLabels: {role: client}}, policyTypes: [Egress]}

            """
        }
        return text
    }

    @Test func namesResolveInsideThePodsAndTheReportSaysWhereTheyLed() throws {
        let name = uniqueLabName("dnsprobe")
        try withLab(Self.yaml(name), name: name) { file in
            let verify = try lab("verify", name)
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
            #expect(verify.stdout.hasSuffix("8 passed, 0 failed\n"), "\(verify.stdout)")
            #expect(verify.stdout.contains("cart.store → 10.96.0.30, HTTP 200 \"cart-1\""), "\(verify.stdout)")
            #expect(verify.stdout.contains("web → 10.96.0.20, HTTP 200 \"web-1\""), "\(verify.stdout)")

            // The JSON report carries each lookup: the names asked and the answer.
            let json = try lab("verify", name, "--output", "json", "--only", "^svc.ns$")
            let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            let tries = ((object?["probes"] as? [[String: Any]])?.first?["tries"] as? [[String: Any]]) ?? []
            let lookup = tries.first?["lookup"] as? [String: Any]
            #expect(lookup?["queries"] as? [String] == ["cart.store.default.svc.cluster.local. NXDOMAIN", "cart.store.svc.cluster.local. NOERROR"],
                    "\(json.stdout)")
            #expect(lookup?["address"] as? String == "10.96.0.30")

            // A name that does not resolve fails with the response code, at once.
            let broken = Self.yaml(name).replacingOccurrences(of: "to: cart.store,", with: "to: cart.nope,")
            let brokenFile = try writeLabFile(broken, name: "\(name)-broken")
            let failing = try lab("verify", name, "-f", brokenFile, "--only", "^svc.ns$")
            #expect(failing.status == 1)
            #expect(failing.stdout.contains("unresolved: cart.nope: "), "\(failing.stdout)")
            #expect(failing.stdout.contains("cart.nope.default.svc.cluster.local. NXDOMAIN"), "\(failing.stdout)")
            #expect(!failing.stdout.contains("timeout"), "\(failing.stdout)")

            // The model check asks every service from every namespace.
            let model = try lab("verify", name, "--model")
            #expect(model.status == 0, "\(model.stdout)")
            #expect(model.stdout.contains("model: dns cart.store from default/client"), "\(model.stdout)")
            #expect(model.stdout.contains("model: dns cart from store/"), "\(model.stdout)")
            _ = file
        }
    }

    @Test func aPolicyDenyingEgressMakesTheLookupFailAndSayWhy() throws {
        let name = uniqueLabName("dnspol")
        try withLab(Self.yaml(name, policy: true), name: name) { _ in
            let verify = try lab("verify", name, "--only", "^svc.ns$")
            #expect(verify.status == 1, "\(verify.stdout)")
            #expect(verify.stdout.contains("the DNS query for cart.store.default.svc.cluster.local. A to 10.96.0.10:53"), "\(verify.stdout)")
            #expect(verify.stdout.contains("got no answer") || verify.stdout.contains("was rejected"), "\(verify.stdout)")
            // shopper has no policy: its lookups still work.
            let other = try lab("verify", name, "--only", "^A$")
            #expect(other.status == 0, "\(other.stdout)")
        }
    }
}
