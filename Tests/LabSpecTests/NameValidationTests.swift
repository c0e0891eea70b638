import Testing
@testable import LabSpec

/// Names are DNS labels and unique in their name space (docs/architecture.md, "The lab file").
@Suite struct NameValidationTests {
    @Test func labNameMustBeShortLowercaseDNS() {
        #expect(Lab.error("name: Demo\nnodes: [{name: n}]\n")?.description
            == "lab.yaml:1:7: name: the lab name \"Demo\" may only contain lowercase letters, digits and \"-\" (found \"D\"); did you mean \"demo\"?")
        #expect(Lab.error("name: a-very-long-lab-name-indeed\nnodes: [{name: n}]\n")?.description
            == "lab.yaml:1:7: name: the lab name \"a-very-long-lab-name-indeed\" is 27 characters long; at most 24 are allowed")
        #expect(Lab.error("name: -lab\nnodes: [{name: n}]\n")?.message
            == "the lab name \"-lab\" must start and end with a letter or digit")
        #expect(Lab.error("name: \"\"\nnodes: [{name: n}]\n")?.message == "the lab name \"\" must not be empty")
        // Exactly 24 characters and digits are fine.
        #expect(throws: Never.self) { try LabFileLoader.parse("name: abcdefghijklmnopqrstuvw1\nnodes: [{name: n}]\n", file: "x") }
    }

    @Test func objectNamesMustBeDNSLabels() {
        let errors = Lab.errors("""
        name: demo
        networks: [{name: Rack_1, cidr: 192.168.1.0/24}]
        nodes: [{name: node.1}]
        pods:
          - name: web-
            namespace: Prod
            node: node.1
            containers: [{name: "my server", command: [x]}]
        services: [{name: "\(String(repeating: "s", count: 64))", ports: [{port: 80}]}]
        hosts: [{name: LAPTOP}]
        """)
        #expect(errors.map { "\($0.at) \($0.path)" } == [
            "2:19 networks[0].name", "3:16 nodes[0].name", "5:11 pods[0].name", "6:16 pods[0].namespace",
            "8:25 pods[0].containers[0].name", "9:19 services[0].name", "10:16 hosts[0].name",
        ])
        #expect(errors[0].message == "network name \"Rack_1\" may only contain lowercase letters, digits and \"-\" (found \"R\")")
        #expect(errors[1].message == "node name \"node.1\" may only contain lowercase letters, digits and \"-\" (found \".\")")
        #expect(errors[2].message == "pod name \"web-\" must start and end with a letter or digit")
        #expect(errors[3].message.hasPrefix("namespace \"Prod\" may only contain"))
        #expect(errors[4].message == "container name \"my server\" may only contain lowercase letters, digits and \"-\" (found U+20)")
        #expect(errors[5].message.hasSuffix("is 64 characters long; at most 63 are allowed"))
        #expect(errors[6].message.hasSuffix("did you mean \"laptop\"?"))
    }

    @Test func podsNodesAndHostsShareOneNameSpace() {
        let errors = Lab.errors("""
        name: demo
        nodes: [{name: node-1}, {name: web-1}]
        pods:
          - {name: web-1, node: node-1}
          - {name: web-1, node: node-1}
        hosts: [{name: node-1}]
        """)
        #expect(errors.map(\.description) == [
            "lab.yaml:4:12: pods[0].name: the pod name \"web-1\" is already the name of a node (nodes[1].name, line 2); pods, nodes and hosts share one name space",
            "lab.yaml:5:12: pods[1].name: the pod name \"web-1\" is already the name of a node (nodes[1].name, line 2); pods, nodes and hosts share one name space",
            "lab.yaml:6:16: hosts[0].name: the host name \"node-1\" is already the name of a node (nodes[0].name, line 2); pods, nodes and hosts share one name space",
        ])
    }

    @Test func duplicateNamesOfOneKindPointAtTheFirst() {
        let error = Lab.error("name: demo\nnodes:\n  - name: node-1\n  - name: node-1\n")
        #expect(error?.description == "lab.yaml:4:11: nodes[1].name: duplicate node name \"node-1\": nodes[0].name (line 3) has it already")
    }

    @Test func serviceNamesAreUniquePerKubernetesNamespace() throws {
        let services = """
        services:
          - {name: web, selector: {app: web}, ports: [{port: 80}]}
          - {name: web, namespace: prod, selector: {app: web}, ports: [{port: 80}]}

        """
        let pods = "pods: [{name: a, node: node-1, labels: {app: web}}, {name: b, namespace: prod, node: node-1, labels: {app: web}}]\n"
        _ = try Lab.load(Lab.minimal + pods + services)
        let error = Lab.error(Lab.minimal + pods + services + "  - {name: web, namespace: prod, selector: {app: web}, ports: [{port: 81}]}\n")
        #expect(error?.description == "lab.yaml:8:12: services[2].name: duplicate service name \"web\" in namespace \"prod\": services[1].name (line 7) has it already")
    }

    @Test func networkContainerAndProbeNamesAreUnique() {
        let errors = Lab.errors("""
        name: demo
        networks: [{name: a, cidr: 10.1.0.0/24}, {name: a, cidr: 10.2.0.0/24}]
        nodes: [{name: node-1}]
        pods: [{name: p, node: node-1, containers: [{name: c, command: [x]}, {name: c, command: [y]}]}]
        probes:
          - {name: check, from: p, to: p, ping: {}}
          - {name: check, from: p, to: p, ping: {}}
        """)
        #expect(errors.map(\.description) == [
            "lab.yaml:2:49: networks[1].name: duplicate network name \"a\": networks[0].name (line 2) has it already",
            "lab.yaml:4:77: pods[0].containers[1].name: duplicate container name \"c\" in pod \"p\": pods[0].containers[0].name (line 4) has it already",
            "lab.yaml:7:12: probes[1].name: duplicate probe name \"check\": probes[0].name (line 6) has it already",
        ])
    }

    @Test func atLeastOneNodeIsRequired() {
        #expect(Lab.error("name: demo\n")?.description
            == "lab.yaml:1:1: nodes: a lab needs at least one node; add for example \"nodes: [{name: node-1}]\"")
        #expect(Lab.error("name: demo\nnodes: []\n")?.at == "2:8")
    }
}
