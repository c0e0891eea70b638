import Testing
@testable import LabSpec

/// Containers' `ports:` (names for a service's `targetPort`), checked as Kubernetes checks them.
@Suite struct ContainerPortValidationTests {
    @Test func namesAndNumbersAreValidAndOncePerPod() {
        let errors = Lab.errors("""
        name: demo
        nodes: [{name: node-1}]
        pods:
          - name: web-1
            node: node-1
            containers:
              - {name: a, agent: {http: [8080]}, ports: [{name: web, containerPort: 8080}, {name: Web_1, containerPort: 8081}]}
              - {name: b, command: [sleep, infinity], ports: [{name: web, containerPort: 9090}, {containerPort: 8080}, {containerPort: 70000}]}
              - {name: c, command: [sleep, infinity], ports: [{name: dns, containerPort: 8080, protocol: UDP}, {name: x, contanerPort: 1}]}
        """)
        #expect(errors.map(\.description) == [
            "lab.yaml:7:91: pods[0].containers[0].ports[1].name: port name \"Web_1\" may only contain lowercase letters, digits and \"-\" (found \"W\")",
            "lab.yaml:8:62: pods[0].containers[1].ports[0].name: port name \"web\" is already used in pod \"web-1\" (containers[0].ports[0].name, line 7)",
            "lab.yaml:8:105: pods[0].containers[1].ports[1].containerPort: TCP port 8080 is already declared in pod \"web-1\" (containers[0].ports[0].containerPort, line 7)",
            "lab.yaml:8:128: pods[0].containers[1].ports[2].containerPort: containerPort 70000 is out of range 1...65535",
            "lab.yaml:9:114: pods[0].containers[2].ports[1].contanerPort: unknown key \"contanerPort\"; did you mean \"containerPort\"?",
        ])
    }

    @Test func aNamedTargetPortNoSelectedPodDeclaresIsAWarning() throws {
        let loaded = try LabFileLoader.parse("""
        name: demo
        nodes: [{name: node-1}]
        pods:
          - {name: web-1, node: node-1, labels: {app: web}, containers: [{name: a, agent: {http: [8080]}, ports: [{name: http, containerPort: 8080}]}]}
        services:
          - {name: web, selector: {app: web}, ports: [{port: 80, targetPort: htp}, {port: 81, targetPort: http}, {port: 82, targetPort: http, protocol: UDP}]}
        """, file: "lab.yaml")
        #expect(loaded.warnings.map(\.description) == [
            "lab.yaml:6:70: warning: services[0].ports[0].targetPort: no pod of service \"web\" declares a TCP port named \"htp\", so this port has no endpoints; declare it in a container's ports: [{name: htp, containerPort: N}]; did you mean \"http\"?",
            "lab.yaml:6:129: warning: services[0].ports[2].targetPort: no pod of service \"web\" declares a UDP port named \"http\", so this port has no endpoints; declare it in a container's ports: [{name: http, containerPort: N}]",
        ])
    }
}
