import Testing
import LabSpec
@testable import LabPlan

/// The NetworkPolicy evaluator against the cases of the upstream e2e suite
/// (`test/e2e/network/netpol/network_policy.go`), each under its upstream name, on the suite's
/// 3 × 3 model. Cases the lab file cannot express (policy updates over time, SCTP traffic) are
/// left out; their static halves are here.
@Suite struct PolicyEvaluatorE2ETests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var policies: String
        var proto: TransportProtocol = .tcp
        var port: Int = 80
        var expect: @Sendable (inout Reachability) -> Void
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "should support a 'default-deny-ingress' policy", policies: """
          - {name: deny-ingress, namespace: x, podSelector: {}, policyTypes: [Ingress]}
        """) { $0.expect(to: "x/*", false) },
        Case(name: "should support a 'default-deny-ingress' policy [UDP]", policies: """
          - {name: deny-ingress, namespace: x, podSelector: {}, policyTypes: [Ingress]}
        """, proto: .udp) { $0.expect(to: "x/*", false) },
        Case(name: "should support a 'default-deny-all' policy", policies: """
          - {name: deny-all, namespace: x, podSelector: {}, policyTypes: [Ingress, Egress]}
        """) { r in r.expect(to: "x/*", false); r.expect(from: "x/*", false) },
        Case(name: "should enforce policy to allow traffic from pods within server namespace based on PodSelector", policies: """
          - {name: x-a-allows-x-b, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]}
        """) { r in r.expect(to: "x/a", false); r.expect(from: "x/b", to: "x/a", true) },
        Case(name: "should enforce policy to allow ingress traffic for a target", policies: """
          - {name: deny-ingress, namespace: x, podSelector: {}, policyTypes: [Ingress]}
          - {name: allow-all-to-a, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{}]}
        """) { r in r.expect(to: "x/*", false); r.expect(to: "x/a", true) },
        Case(name: "should enforce policy based on PodSelector with MatchExpressions", policies: """
          - {name: x-a-allows-x-b, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchExpressions: [{key: pod, operator: In, values: [b]}]}}]}]}
        """) { r in r.expect(to: "x/a", false); r.expect(from: "x/b", to: "x/a", true) },
        Case(name: "should enforce policy based on NamespaceSelector with MatchExpressions", policies: """
          - {name: allow-ns-y, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [y]}]}}]}]}
        """) { r in r.expect(to: "x/a", false); r.expect(from: "y/*", to: "x/a", true) },
        Case(name: "should enforce policy based on PodSelector or NamespaceSelector", policies: """
          - name: x-a-allows-x-b-or-not-x
            namespace: x
            podSelector: {matchLabels: {pod: a}}
            ingress:
              - from:
                  - namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [x]}]}
                  - podSelector: {matchLabels: {pod: b}}
        """) { r in r.expect(from: "x/c", to: "x/a", false) },
        Case(name: "should enforce policy based on PodSelector and NamespaceSelector", policies: """
          - name: x-a-allows-b-not-in-x
            namespace: x
            podSelector: {matchLabels: {pod: a}}
            ingress:
              - from:
                  - namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [x]}]}
                    podSelector: {matchLabels: {pod: b}}
        """) { r in r.expect(to: "x/a", false); r.expect(from: "y/b", to: "x/a", true); r.expect(from: "z/b", to: "x/a", true) },
        Case(name: "should enforce policy based on Multiple PodSelectors and NamespaceSelectors", policies: """
          - name: x-a-allows-b-and-c-not-in-x
            namespace: x
            podSelector: {matchLabels: {pod: a}}
            ingress:
              - from:
                  - namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [x]}]}
                    podSelector: {matchExpressions: [{key: pod, operator: In, values: [b, c]}]}
        """) { r in
            r.expect(to: "x/a", false)
            for from in ["y/b", "y/c", "z/b", "z/c"] { r.expect(from: from, to: "x/a", true) }
        },
        Case(name: "should enforce policy based on any PodSelectors", policies: """
          - {name: x-a-allows-b-or-c, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}, {podSelector: {matchLabels: {pod: c}}}]}]}
        """) { r in r.expect(to: "x/a", false); r.expect(from: "x/b", to: "x/a", true); r.expect(from: "x/c", to: "x/a", true) },
        Case(name: "should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector", policies: """
          - {name: allow-ns-y, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}]}]}
        """) { r in r.expect(to: "x/a", false); r.expect(from: "y/*", to: "x/a", true) },
        Case(name: "should enforce policy based on Ports (port 80 closed)", policies: """
          - {name: allow-y-on-81, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}], ports: [{port: 81}]}]}
        """) { r in r.expect(to: "x/a", false) },
        Case(name: "should enforce policy based on Ports (port 81 open from y)", policies: """
          - {name: allow-y-on-81, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}], ports: [{port: 81}]}]}
        """, port: 81) { r in r.expect(to: "x/a", false); r.expect(from: "y/*", to: "x/a", true) },
        Case(name: "should enforce multiple, stacked policies with overlapping podSelectors", policies: """
          - {name: allow-y-on-81, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}], ports: [{port: 81}]}]}
          - {name: allow-y-on-80, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}], ports: [{port: 80}]}]}
        """) { r in r.expect(to: "x/a", false); r.expect(from: "y/*", to: "x/a", true) },
        Case(name: "should support allow-all policy", policies: """
          - {name: allow-all, namespace: x, podSelector: {}, ingress: [{}]}
        """) { _ in },
        Case(name: "should allow ingress access on one named port", policies: """
          - {name: allow-81, namespace: x, podSelector: {}, ingress: [{ports: [{port: serve-81-tcp}]}]}
        """, port: 81) { _ in },
        Case(name: "should allow ingress access on one named port (other port closed)", policies: """
          - {name: allow-81, namespace: x, podSelector: {}, ingress: [{ports: [{port: serve-81-tcp}]}]}
        """) { r in r.expect(to: "x/*", false) },
        Case(name: "should allow ingress access from namespace on one named port", policies: """
          - {name: allow-y-80, namespace: x, podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}], ports: [{port: serve-80-tcp}]}]}
        """) { r in r.expect(to: "x/*", false); r.expect(from: "y/*", to: "x/*", true) },
        Case(name: "should allow egress access on one named port", policies: """
          - {name: allow-egress-80, namespace: x, podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: serve-80-tcp}]}]}
        """) { _ in },
        Case(name: "should allow egress access on one named port (other port closed)", policies: """
          - {name: allow-egress-80, namespace: x, podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: serve-80-tcp}]}]}
        """, port: 81) { r in r.expect(from: "x/*", false) },
        Case(name: "should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)", policies: """
          - {name: x-a-egress-to-y, namespace: x, podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}]}]}
          - {name: z-allows-x-a, namespace: z, podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: x}}, podSelector: {matchLabels: {pod: a}}}]}]}
        """) { r in
            r.expect(from: "x/a", false)
            r.expect(from: "x/a", to: "y/*", true)
            r.expect(to: "z/*", false)
        },
        Case(name: "should work with Ingress, Egress specified together", policies: """
          - name: x-a-both
            namespace: x
            podSelector: {matchLabels: {pod: a}}
            policyTypes: [Ingress, Egress]
            ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]
            egress: [{to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}]}]
        """) { r in
            r.expect(to: "x/a", false)
            r.expect(from: "x/b", to: "x/a", true)
            r.expect(from: "x/a", false)
            r.expect(from: "x/a", to: "y/*", true)
        },
        Case(name: "should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector", policies: """
          - {name: deny-egress-x-a, namespace: x, podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress]}
        """) { r in r.expect(from: "x/a", false) },
        Case(name: "should enforce multiple ingress policies with ingress allow-all policy taking precedence", policies: """
          - {name: allow-80-only, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{port: 80}]}]}
          - {name: allow-all, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{}]}
        """, port: 81) { _ in },
        Case(name: "should enforce multiple egress policies with egress allow-all policy taking precedence", policies: """
          - {name: egress-80-only, namespace: x, podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{ports: [{port: 80}]}]}
          - {name: egress-all, namespace: x, podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{}]}
        """, port: 81) { _ in },
        Case(name: "should enforce ingress policy allowing any port traffic to a server on a specific protocol (TCP)", policies: """
          - {name: tcp-only, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{protocol: TCP}]}]}
        """) { _ in },
        Case(name: "should enforce ingress policy allowing any port traffic to a server on a specific protocol (UDP blocked)", policies: """
          - {name: tcp-only, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{protocol: TCP}]}]}
        """, proto: .udp) { r in r.expect(to: "x/a", false) },
        Case(name: "should not allow access by TCP when a policy specifies only UDP", policies: """
          - {name: udp-81, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{protocol: UDP, port: 81}]}]}
        """, port: 81) { r in r.expect(to: "x/a", false) },
        Case(name: "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP", policies: """
          - {name: sctp-80, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{protocol: SCTP, port: 80}]}]}
        """) { r in r.expect(to: "x/a", false) },
        Case(name: "should support creating NetworkPolicy API with endport field (inside the range)", policies: """
          - {name: range, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{port: 80, endPort: 81}]}]}
        """, port: 81) { _ in },
        Case(name: "should support creating NetworkPolicy API with endport field (outside the range)", policies: """
          - {name: range, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{port: 80, endPort: 81}]}]}
        """, port: 82) { r in r.expect(to: "x/a", false) },
    ]

    @Test(arguments: cases)
    func upstreamCase(_ testCase: Case) throws {
        let evaluator = try PolicyModel.evaluator(policies: testCase.policies)
        var expected = Reachability(default: true)
        testCase.expect(&expected)
        let observed = PolicyModel.observed(evaluator, protocol: testCase.proto, port: testCase.port)
        #expect(observed == expected, "expected:\n\(expected)\nobserved:\n\(observed)")
    }

    /// The ipBlock cases need the pods' addresses, which the topology settles.
    @Test func ipBlockCases() throws {
        let probe = try PolicyModel.evaluator(policies: "  []\n")
        let yb = try #require(probe.topology.pod(named: "y-b")).ip
        let allowOne = "  - {name: egress-y-b, namespace: x, podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: \(yb)/32}}]}]}\n"
        let except = "  - {name: egress-but-y-b, namespace: x, podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 10.244.0.0/16, except: [\(yb)/32]}}]}]}\n"

        // "should allow egress access to server in CIDR block"
        var expected = Reachability(default: true)
        expected.expect(from: "x/a", false)
        expected.expect(from: "x/a", to: "y/b", true)
        #expect(PolicyModel.observed(try PolicyModel.evaluator(policies: allowOne)) == expected)

        // "should enforce except clause while egress access to server in CIDR block"
        expected = Reachability(default: true)
        expected.expect(from: "x/a", to: "y/b", false)
        #expect(PolicyModel.observed(try PolicyModel.evaluator(policies: except)) == expected)

        // "should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed"
        #expect(PolicyModel.observed(try PolicyModel.evaluator(policies: except + allowOne)) == Reachability(default: true))
    }
}
