import LabAddress
import Testing
@testable import LabSpec

/// `namespaces:` and `networkPolicies:`: decoded with Kubernetes' field names and defaults, and
/// rejected where the API server rejects them, each with its own message.
@Suite struct NetworkPolicyValidationTests {
    static let pods = """
    name: demo
    nodes: [{name: node-1}]
    namespaces:
      - {name: store, labels: {team: shop}}
    pods:
      - {name: api, namespace: store, node: node-1, labels: {app: api}}
      - {name: db, namespace: store, node: node-1, labels: {app: db}, containers: [{name: pg, agent: {tcp: [5432]}, ports: [{name: sql, containerPort: 5432}]}]}
      - {name: admin, namespace: ops, node: node-1, labels: {role: admin}}

    """

    @Test func theIssueExampleDecodesWithTheAPIsMeaning() throws {
        let loaded = try Lab.load(Self.pods + """
        networkPolicies:
          - name: db-from-api
            namespace: store
            podSelector: {matchLabels: {app: db}}
            policyTypes: [Ingress, Egress]
            ingress:
              - from:
                  - podSelector: {matchLabels: {app: api}}
                  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ops}}
                    podSelector: {matchExpressions: [{key: role, operator: In, values: [admin]}]}
                  - ipBlock: {cidr: 192.168.1.0/24, except: [192.168.1.2/32]}
                ports: [{protocol: TCP, port: 5432}, {port: sql}, {port: 9000, endPort: 9010}]
            egress:
              - to: [{podSelector: {}}]
        """)
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")
        let policy = try #require(loaded.lab.networkPolicies.first)
        #expect(policy.namespace == "store")
        #expect(policy.policyTypes == [.ingress, .egress])
        #expect(policy.podSelector == LabelSelector(matchLabels: ["app": "db"]))
        let rule = try #require(policy.ingress.first)
        #expect(rule.peers == [
            .pods(pods: LabelSelector(matchLabels: ["app": "api"]), namespaces: nil),
            .pods(pods: LabelSelector(matchExpressions: [LabelRequirement(key: "role", operator: .in, values: ["admin"])]),
                  namespaces: LabelSelector(matchLabels: ["kubernetes.io/metadata.name": "ops"])),
            .ipBlock(cidr: IPv4Network("192.168.1.0/24")!, except: [IPv4Network("192.168.1.2/32")!]),
        ])
        #expect(rule.ports == [PolicyPort(protocol: .tcp, port: .number(5432)), PolicyPort(port: .name("sql")),
                               PolicyPort(port: .number(9000), endPort: 9010)])
        #expect(policy.egress == [PolicyRule(peers: [.pods(pods: LabelSelector(), namespaces: nil)])])
        #expect(loaded.lab.allNamespaces.map(\.name) == ["store", "ops"])
        #expect(loaded.lab.allNamespaces[1].effectiveLabels == ["kubernetes.io/metadata.name": "ops"])
    }

    @Test func policyTypesDefaultAsTheAPIServerDefaultsThem() throws {
        let loaded = try Lab.load(Self.pods + """
        networkPolicies:
          - {name: only-ingress, namespace: store, podSelector: {}}
          - {name: with-egress, namespace: store, podSelector: {}, egress: [{}]}
          - {name: deny-egress, namespace: store, podSelector: {}, policyTypes: [Egress]}
        """)
        #expect(loaded.lab.networkPolicies.map(\.policyTypes) == [[.ingress], [.ingress, .egress], [.egress]])
        #expect(loaded.lab.networkPolicies[1].egress == [PolicyRule()])
        #expect(loaded.lab.networkPolicies[2].egress.isEmpty)
    }

    @Test func eachMistakeHasItsOwnMessage() {
        let errors = Lab.errors(Self.pods + """
        networkPolicies:
          - name: bad
            namespace: store
            podSelector: {matchExpressions: [{key: app, operator: Equals, values: [db]}, {key: app, operator: Exists, values: [db]}, {key: app, operator: In}]}
            ingress:
              - from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}, {ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16, 10.0.0.0/8]}}, {}]
                ports: [{port: sql, endPort: 6000}, {port: 9010, endPort: 9000}, {endPort: 80}, {protocol: ICMP}]
          - name: bad
            namespace: store
            policyTypes: [Egress]
            ingress: [{}]
        """)
        #expect(errors.map(\.description) == [
            "lab.yaml:12:59: networkPolicies[0].podSelector.matchExpressions[0].operator: \"Equals\" is not a label selector operator (In, NotIn, Exists, DoesNotExist)",
            "lab.yaml:12:119: networkPolicies[0].podSelector.matchExpressions[1].values: operator Exists takes no values; remove \"values\" or use In/NotIn",
            "lab.yaml:12:126: networkPolicies[0].podSelector.matchExpressions[2]: operator In needs a non-empty \"values\" list, like values: [a, b]",
            "lab.yaml:14:26: networkPolicies[0].ingress[0].from[0].ipBlock: ipBlock cannot be combined with podSelector or namespaceSelector in one peer; write them as two peers",
            "lab.yaml:14:102: networkPolicies[0].ingress[0].from[1].ipBlock.except[0]: except 11.0.0.0/16 is not inside cidr 10.0.0.0/8; each except must be a smaller block within it",
            "lab.yaml:14:115: networkPolicies[0].ingress[0].from[1].ipBlock.except[1]: except 10.0.0.0/8 is not inside cidr 10.0.0.0/8; each except must be a smaller block within it",
            "lab.yaml:14:130: networkPolicies[0].ingress[0].from[2]: a peer needs podSelector, namespaceSelector or ipBlock (an empty \"networkPolicies[0].ingress[0].from[2]\" selects nothing)",
            "lab.yaml:15:38: networkPolicies[0].ingress[0].ports[0].endPort: endPort needs a numeric port, not the named port \"sql\"",
            "lab.yaml:15:67: networkPolicies[0].ingress[0].ports[1].endPort: endPort 9000 is below port 9010; the range is port..endPort, inclusive",
            "lab.yaml:15:84: networkPolicies[0].ingress[0].ports[2].endPort: endPort needs a numeric \"port\" where the range starts",
            "lab.yaml:15:100: networkPolicies[0].ingress[0].ports[3].protocol: \"ICMP\" is not a protocol (TCP, UDP, SCTP); did you mean \"TCP\"?",
            "lab.yaml:16:11: networkPolicies[1].name: duplicate policy name \"bad\" in namespace \"store\": networkPolicies[0].name (line 10) has it already",
            "lab.yaml:19:14: networkPolicies[1].ingress: ingress rules are ignored: policyTypes does not list Ingress; add it to policyTypes or remove the ingress section",
        ])
    }

    @Test func selectorsThatSelectNothingAreWarnings() throws {
        let loaded = try Lab.load(Self.pods + """
        networkPolicies:
          - name: typo
            namespace: store
            podSelector: {matchLabels: {app: dbb}}
            ingress:
              - from: [{namespaceSelector: {matchLabels: {team: nobody}}}, {podSelector: {matchLabels: {role: admin}}}]
                ports: [{port: sqll}]
        """)
        #expect(loaded.warnings.map(\.description) == [
            "lab.yaml:12:18: warning: networkPolicies[0].podSelector: selects no pod in namespace \"store\"; the policy has no effect",
            "lab.yaml:14:36: warning: networkPolicies[0].ingress[0].from[0].namespaceSelector: this peer selects no pod of the lab; the rule allows nothing from it",
            "lab.yaml:14:82: warning: networkPolicies[0].ingress[0].from[1].podSelector: this peer selects no pod of the lab; the rule allows nothing from it",
            "lab.yaml:15:24: warning: networkPolicies[0].ingress[0].ports[0].port: no container declares a port named \"sqll\"; did you mean \"sql\"?",
        ])
    }

    @Test func namespacesAreNamedAndLabelledLikeKubernetesOnes() {
        let errors = Lab.errors("""
        name: demo
        nodes: [{name: node-1}]
        namespaces:
          - {name: Store}
          - {name: ops, labels: {"bad key!": x}}
          - {name: ops}
        """)
        #expect(errors.count == 3)
        #expect(errors.map(\.path) == ["namespaces[0].name", "namespaces[1].labels.bad key!", "namespaces[2].name"])
    }

    @Test func reachPolicyIsReadAndRefusedWhereItMeansNothing() throws {
        let loaded = try Lab.load(Self.pods + """
        probes:
          - {from: api, to: db, tcp: {port: 5432}, expect: {reach: policy}}
        """)
        #expect(loaded.lab.probes.first?.expect.reachByPolicy == true)
        let errors = Lab.errors(Self.pods + """
        probes:
          - {from: api, exec: [true], expect: {reach: policy}}
        """)
        #expect(errors.map(\.path) == ["probes[0].expect.reach"])
    }
}
