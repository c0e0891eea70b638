import Testing
@testable import LabSpec

/// The shape of the file: unknown keys, repeated keys, values of the wrong type, and that all
/// of them are collected in one run, in file order.
@Suite struct LabFileKeyTests {
    @Test func unknownTopLevelKeySuggestsTheClosestKey() {
        let error = Lab.error(Lab.minimal + "servises: []\n")
        #expect(error?.description == "lab.yaml:4:1: servises: unknown key \"servises\"; did you mean \"services\"?")
    }

    /// A misspelt `nodes:` is one mistake: not also "a lab needs a node" and "unknown node".
    @Test func aMisspeltSectionIsReportedOnceNotAsWhatIsMissingBecauseOfIt() {
        let errors = Lab.errors("name: demo\nnode:\n  - {name: n1}\npods: [{name: p, node: n1}]\n")
        #expect(errors.map(\.description) == ["lab.yaml:2:1: node: unknown key \"node\"; did you mean \"nodes\"?"])
    }

    @Test func unknownKeyWithTheWrongCaseSuggestsTheRightCase() {
        let error = Lab.error(Lab.minimal + "cluster:\n  podCidr: 10.244.0.0/16\n")
        #expect(error?.description == "lab.yaml:5:3: cluster.podCidr: unknown key \"podCidr\"; did you mean \"podCIDR\"?")
    }

    @Test func unknownKeyFarFromAnyListsTheAllowedKeys() {
        let error = Lab.error("name: demo\nnodes:\n  - name: node-1\n    zone: eu\n")
        #expect(error?.description == "lab.yaml:4:5: nodes[0].zone: unknown key \"zone\" (allowed keys: name, network, ip, podCIDR, link)")
    }

    @Test func unknownKeysAreFoundAtEveryDepth() {
        let errors = Lab.errors("""
        name: demo
        nodes: [{name: node-1}]
        pods:
          - name: web-1
            node: node-1
            containers:
              - name: server
                agent: {htpp: [80]}
        services:
          - name: web
            ports: [{port: 80, targetport: 8080}]
            sessionAffinity: ClientIP
            sessionAffinityConfig: {clientIP: {timeout: 5}}
        probes:
          - {from: web-1, to: web-1, http: {port: 80, paht: /}, expect: {served: [web-1]}}
          - {from: web-1, to: web-1, ping: {}, matrix: {from: "*", too: "*"}}
        """)
        let found = errors.map { "\($0.at) \($0.path): \($0.message)" }
        #expect(found.contains("8:17 pods[0].containers[0].agent.htpp: unknown key \"htpp\"; did you mean \"http\"?"))
        #expect(found.contains("11:24 services[0].ports[0].targetport: unknown key \"targetport\"; did you mean \"targetPort\"?"))
        #expect(found.contains("13:40 services[0].sessionAffinityConfig.clientIP.timeout: unknown key \"timeout\" (allowed keys: timeoutSeconds)"))
        #expect(found.contains("15:47 probes[0].http.paht: unknown key \"paht\"; did you mean \"path\"?"))
        #expect(found.contains("15:66 probes[0].expect.served: unknown key \"served\"; did you mean \"servedBy\"?"))
        #expect(found.contains("16:60 probes[1].matrix.too: unknown key \"too\"; did you mean \"to\"?"))
    }

    @Test func repeatedKeyInABlockMappingIsReportedAtTheRepeat() {
        let error = Lab.error("name: demo\nnodes:\n  - name: node-1\n    ip: 172.18.0.5\n    ip: 172.18.0.6\n")
        #expect(error?.description == "lab.yaml:5:5: nodes[0].ip: the key \"ip\" is written twice (first at line 4, column 5)")
    }

    @Test func repeatedKeysAreAllReportedAlongWithOtherErrors() {
        let errors = Lab.errors("""
        name: demo
        name: demo2
        nodes:
          - {name: node-1, "name": node-2}
        pods:
          - name: web-1
            node: node-9
            labels:
              app: web
              app: db
        cluster: {mtu: 1500}
        cluster: {mtu: 1400}
        """)
        #expect(errors.map(\.description) == [
            "lab.yaml:2:1: name: the key \"name\" is written twice (first at line 1, column 1)",
            "lab.yaml:4:20: nodes[0].name: the key \"name\" is written twice (first at line 4, column 6)",
            "lab.yaml:7:11: pods[0].node: unknown node \"node-9\"; did you mean \"node-1\"? (nodes: node-1)",
            "lab.yaml:10:7: pods[0].labels.app: the key \"app\" is written twice (first at line 9, column 7)",
            "lab.yaml:12:1: cluster: the key \"cluster\" is written twice (first at line 11, column 1)",
        ])
    }

    @Test func aKeyWrittenThreeTimesIsReportedTwice() {
        let errors = Lab.errors(Lab.minimal + "pods:\n  - {name: a, node: node-1, ip: 10.244.1.5, ip: 10.244.1.6, ip: 10.244.1.7}\n")
        #expect(errors.map(\.at) == ["5:45", "5:61"])
        #expect(errors.allSatisfy { $0.path == "pods[0].ip" && $0.message.contains("first at line 5, column 29") })
    }

    @Test func repeatedKeyInAnUnusualSpellingFallsBackToOneError() {
        // The repeat cannot be found in the text (an escape spells the first key), so the
        // error points at the first writing and nothing else is reported.
        let error = Lab.error("name: demo\nnodes: [{\"n\\u0061me\": a, name: b}]\n")
        #expect(error?.description == "lab.yaml:2:10: the key \"name\" is written twice in one mapping")
    }

    @Test func wrongTypesSayWhatWasExpectedAndFound() {
        let errors = Lab.errors("""
        name: demo
        cluster: {mtu: "1500", network: [routed]}
        nodes: {name: node-1}
        pods:
          - name: web-1
            node: node-1
            labels: [app]
            containers:
              - {name: c, agent: {http: 8080}}
        probes:
          - {from: web-1, to: web-1, ping: {count: 1.5}, repeat: yes, expect: {reach: "no"}}
        """)
        let found = errors.map { "\($0.at) \($0.path): \($0.message)" }
        #expect(found.contains("2:16 cluster.mtu: expected an integer, found a string (\"1500\"); remove the quotes"))
        #expect(found.contains("2:33 cluster.network: expected a string, found a list"))
        #expect(found.contains("3:8 nodes: expected a list of nodes, found a mapping; write each of the nodes on its own line starting with \"- \""))
        #expect(found.contains("7:13 pods[0].labels: expected a mapping of label names to values, found a list"))
        #expect(found.contains("9:33 pods[0].containers[0].agent.http: expected a list of port numbers, found an integer (8080)"))
        #expect(found.contains("11:44 probes[0].ping.count: expected an integer, found a number (1.5)"))
        #expect(found.contains("11:58 probes[0].repeat: expected an integer, found a boolean (yes)"))
        #expect(found.contains("11:79 probes[0].expect.reach: expected true or false, found a string (\"no\")"))
        // `nodes` could not be read, so no pod is blamed for naming a node that "does not exist".
        #expect(!errors.contains { $0.path == "pods[0].node" })
        #expect(errors.count == 8)
    }

    @Test func integersMustBePlainDecimal() {
        let error = Lab.error(Lab.minimal + "cluster: {mtu: 0x5dc}\n")
        #expect(error?.description == "lab.yaml:4:16: cluster.mtu: write 0x5dc as a plain decimal number")
    }

    @Test func missingRequiredKeysAreReportedAtTheirMapping() {
        let errors = Lab.errors("nodes:\n  - network: underlay\npods:\n  - {name: web-1}\n")
        #expect(errors.map(\.description) == [
            "lab.yaml:1:1: missing required key \"name\" (the lab's name, like \"name: demo\")",
            "lab.yaml:2:5: nodes[0]: missing required key \"name\" (the node's name)",
            "lab.yaml:4:5: pods[0]: missing required key \"node\" (the node the pod runs on)",
        ])
    }

    @Test func nullValueOfARequiredStringIsAnError() {
        let error = Lab.error("name:\nnodes: [{name: node-1}]\n")
        #expect(error?.path == "name")
        #expect(error?.message == "expected a string, found nothing")
    }

    @Test func errorsAreCollectedInFileOrder() {
        let errors = Lab.errors("""
        name: demo
        probes:
          - {from: ghost, to: node-1, ping: {}}
        pods:
          - {name: web-1, node: node-2}
        nodes:
          - {name: node-1, ip: 10.0.0.1}
        cluster:
          mtu: 10
        """)
        #expect(errors.map(\.position.line) == [3, 5, 7, 9])
        #expect(errors.map(\.path) == ["probes[0].from", "pods[0].node", "nodes[0].ip", "cluster.mtu"])
    }

    @Test func theErrorListPrintsOneLinePerError() {
        do {
            _ = try LabFileLoader.parse("name: demo\nnodes: [{name: node-1, ip: 1.2.3.4}]\nfoo: 1\n", file: "x.yaml")
            Issue.record("expected errors")
        } catch let errors as LabFileErrors {
            #expect(errors.description == """
            x.yaml:2:28: nodes[0].ip: 1.2.3.4 is outside network "underlay" (172.18.0.0/24)
            x.yaml:3:1: foo: unknown key "foo" (allowed keys: name, cluster, networks, nodes, pods, services, hosts, probes, namespaces, networkPolicies, scenarios)
            """)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
