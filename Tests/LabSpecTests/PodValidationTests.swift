import Testing
@testable import LabSpec

/// Pods: their node, their address, their containers and the ports those serve.
@Suite struct PodValidationTests {
    static let nodes = """
    name: demo
    nodes:
      - name: node-1
        podCIDR: 10.244.1.0/24
      - name: node-2

    """

    @Test func podNodeMustExistAndTheMessageListsTheNodes() {
        #expect(Lab.error(Self.nodes + "pods: [{name: a, node: node-1}, {name: b, node: node-1}, {name: c, node: node-9}]\n")?.description
            == "lab.yaml:6:74: pods[2].node: unknown node \"node-9\"; did you mean \"node-1\"? (nodes: node-1, node-2)")
        #expect(Lab.error(Self.nodes + "pods:\n  - {name: a, node: worker}\n")?.message
            == "unknown node \"worker\" (nodes: node-1, node-2)")
    }

    @Test func podNodeThatNamesAnotherKindSaysSo() {
        #expect(Lab.error(Self.nodes + "hosts: [{name: laptop}]\npods: [{name: a, node: laptop}]\n")?.message
            == "\"laptop\" is a host, not a node (nodes: node-1, node-2)")
    }

    @Test func podAddressMustLieInTheClusterAndItsNodesPodCIDR() {
        let errors = Lab.errors(Self.nodes + """
        pods:
          - {name: a, node: node-1, ip: 10.245.1.5}
          - {name: b, node: node-1, ip: 10.244.2.5}
          - {name: c, node: node-1, ip: 10.244.1.0}
          - {name: d, node: node-1, ip: 10.244.1.1}
          - {name: e, node: node-1, ip: 10.244.1.255}
          - {name: f, node: node-2, ip: 10.244.1.7}
          - {name: g, node: node-2, ip: 10.244.2.1}
        """)
        #expect(errors.map(\.description) == [
            "lab.yaml:7:33: pods[0].ip: 10.245.1.5 is outside cluster.podCIDR 10.244.0.0/16",
            "lab.yaml:8:33: pods[1].ip: 10.244.2.5 is outside the podCIDR 10.244.1.0/24 of node \"node-1\"",
            "lab.yaml:9:33: pods[2].ip: 10.244.1.0 is the network address of podCIDR 10.244.1.0/24",
            "lab.yaml:10:33: pods[3].ip: 10.244.1.1 is the first address of podCIDR 10.244.1.0/24, which the node's cni0 bridge holds",
            "lab.yaml:11:33: pods[4].ip: 10.244.1.255 is the broadcast address of podCIDR 10.244.1.0/24",
            "lab.yaml:12:33: pods[5].ip: 10.244.1.7 lies in the podCIDR 10.244.1.0/24 of node \"node-1\", but the pod runs on node \"node-2\"",
            "lab.yaml:13:33: pods[6].ip: 10.244.2.1 is the first address of podCIDR 10.244.2.0/24, which the node's cni0 bridge holds",
        ])
    }

    @Test func podAddressesAreUnique() {
        #expect(Lab.error(Self.nodes + "pods:\n  - {name: a, node: node-1, ip: 10.244.1.9}\n  - {name: b, node: node-1, ip: 10.244.1.9}\n")?.description
            == "lab.yaml:8:33: pods[1].ip: 10.244.1.9 is already the address of pod \"a\" (pods[0].ip, line 7)")
    }

    @Test func aPortIsServedOncePerPod() {
        let errors = Lab.errors(Self.nodes + """
        pods:
          - name: web-1
            node: node-1
            containers:
              - {name: one, agent: {http: [8080], udp: [53]}}
              - {name: two, agent: {tcp: [8080, 53], udp: [53]}}
              - {name: three, agent: {http: [9000, 9000]}}
        """)
        #expect(errors.map(\.description) == [
            "lab.yaml:11:35: pods[0].containers[1].agent.tcp[0]: TCP port 8080 is already served in pod \"web-1\" by container \"one\" (containers[0].agent.http[0], line 10)",
            "lab.yaml:11:52: pods[0].containers[1].agent.udp[0]: UDP port 53 is already served in pod \"web-1\" by container \"one\" (containers[0].agent.udp[0], line 10)",
            "lab.yaml:12:44: pods[0].containers[2].agent.http[1]: TCP port 9000 is already served in pod \"web-1\" by container \"three\" (containers[2].agent.http[0], line 12)",
        ])
    }

    @Test func portsMustBeInRange() {
        let error = Lab.error(Self.nodes + "pods: [{name: a, node: node-1, containers: [{name: c, agent: {udp: [0]}}]}]\n")
        #expect(error?.description == "lab.yaml:6:69: pods[0].containers[0].agent.udp[0]: port 0 is out of range 1...65535")
    }

    @Test func containerRunsAgentOrCommandExactlyOnce() {
        let errors = Lab.errors(Self.nodes + """
        pods:
          - name: a
            node: node-1
            containers:
              - {name: both, agent: {http: [80]}, command: [x]}
              - {name: none}
              - {name: empty, command: []}
              - {name: policy, command: [x], restart: sometimes}
        """)
        #expect(errors.map(\.description) == [
            "lab.yaml:10:43: pods[0].containers[0].command: a container runs either the built-in agent or a command, not both",
            "lab.yaml:11:9: pods[0].containers[1]: a container needs \"agent\" (the built-in test server) or \"command\" (a program to run)",
            "lab.yaml:12:32: pods[0].containers[2].command: a command needs at least the program to run, like [sleep, infinity]",
            "lab.yaml:13:47: pods[0].containers[3].restart: \"sometimes\" is not a restart policy (always, on-failure, never)",
        ])
    }

    @Test func labelsAndEnvironmentNamesAreChecked() {
        let errors = Lab.errors(Self.nodes + """
        pods:
          - name: a
            node: node-1
            labels: {"bad key!": x, app: "-web", example.com/tier: front, tier: ""}
            containers: [{name: c, command: [x], env: {1ST: x, OK_NAME: y}}]
        """)
        #expect(errors.map(\.description) == [
            "lab.yaml:9:14: pods[0].labels.bad key!: label key \"bad key!\" may only contain letters, digits, \"-\", \"_\" and \".\"",
            "lab.yaml:9:34: pods[0].labels.app: label value \"-web\" must start and end with a letter or digit",
            "lab.yaml:10:48: pods[0].containers[0].env.1ST: \"1ST\" is not a valid environment variable name (letters, digits and \"_\", not starting with a digit)",
        ])
    }

    @Test func labelValuesMayBeAnyScalar() throws {
        let lab = try Lab.load(Self.nodes + "pods: [{name: a, node: node-1, labels: {version: 1.10, beta: yes, count: 3}}]\n").lab
        #expect(lab.pods[0].labels == ["version": "1.10", "beta": "yes", "count": "3"])
    }
}
