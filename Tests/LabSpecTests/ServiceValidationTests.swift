import Testing
@testable import LabSpec

/// Services: ClusterIPs, ports, NodePorts, settings that belong together, and selector warnings.
@Suite struct ServiceValidationTests {
    /// Four lines: a node and a pod labelled app=web; services start on line 5.
    static let base = """
    name: demo
    nodes: [{name: node-1}]
    pods: [{name: web-1, node: node-1, labels: {app: web}}]
    services:

    """

    @Test func clusterIPLiesInTheServiceCIDRAndIsUnique() {
        let errors = Lab.errors(Self.base + """
          - {name: a, clusterIP: 10.97.0.1, selector: {app: web}, ports: [{port: 80}]}
          - {name: b, clusterIP: 10.96.0.0, selector: {app: web}, ports: [{port: 80}]}
          - {name: c, clusterIP: 10.96.0.11, selector: {app: web}, ports: [{port: 80}]}
          - {name: d, clusterIP: 10.96.0.11, selector: {app: web}, ports: [{port: 80}]}
        """)
        #expect(errors.map(\.description) == [
            "lab.yaml:5:26: services[0].clusterIP: 10.97.0.1 is outside cluster.serviceCIDR 10.96.0.0/16",
            "lab.yaml:6:26: services[1].clusterIP: 10.96.0.0 is the network address of cluster.serviceCIDR 10.96.0.0/16",
            "lab.yaml:8:26: services[3].clusterIP: 10.96.0.11 is already the clusterIP of service \"c\" (services[2].clusterIP, line 7)",
        ])
    }

    @Test func nodePortRulesAreEnforced() {
        let errors = Lab.errors(Self.base + """
          - {name: a, type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 30080}, {port: 81, nodePort: 29999}]}
          - {name: b, type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 30080}]}
          - {name: c, type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 30080, protocol: UDP}]}
          - {name: d, selector: {app: web}, ports: [{port: 80, nodePort: 30081}]}
        """)
        #expect(errors.map(\.description) == [
            "lab.yaml:5:111: services[0].ports[1].nodePort: nodePort 29999 is out of range 30000...32767",
            "lab.yaml:6:82: services[1].ports[0].nodePort: nodePort 30080/TCP is already used by service \"a\" (services[0].ports[0].nodePort, line 5)",
            "lab.yaml:8:66: services[3].ports[0].nodePort: nodePort is only for services of type NodePort (this one is ClusterIP)",
        ])
    }

    @Test func portsAreRequiredUnlessHeadlessAndUniqueWithinAService() {
        let errors = Lab.errors(Self.base + """
          - {name: a, selector: {app: web}}
          - {name: b, selector: {app: web}, ports: []}
          - {name: c, selector: {app: web}, ports: [{name: http, port: 80}, {name: http, port: 80}, {port: 80, protocol: UDP}]}
          - {name: d, type: Headless, selector: {app: web}}
        """)
        #expect(errors.map(\.description) == [
            "lab.yaml:5:5: services[0]: a ClusterIP service needs at least one port, like \"ports: [{port: 80}]\"",
            "lab.yaml:6:44: services[1].ports: a ClusterIP service needs at least one port, like \"ports: [{port: 80}]\"",
            "lab.yaml:7:76: services[2].ports[1].name: duplicate port name \"http\": services[2].ports[0].name (line 7) has it already",
            "lab.yaml:7:88: services[2].ports[1].port: port 80/TCP is already a port of this service (services[2].ports[0].port, line 7)",
        ])
    }

    @Test func portNamesAndTargetPortNamesFollowKubernetes() {
        let errors = Lab.errors(Self.base + """
          - {name: a, selector: {app: web}, ports: [{name: HTTP, port: 80, targetPort: web-server-port-1}]}
        """)
        #expect(errors.map(\.message) == [
            "port name \"HTTP\" may only contain lowercase letters, digits and \"-\" (found \"H\"); did you mean \"http\"?",
            "targetPort \"web-server-port-1\" is neither a port number nor a valid port name: it is longer than 15 characters",
        ])
    }

    @Test func headlessAndClusterIPNoneAgree() {
        let errors = Lab.errors(Self.base + """
          - {name: a, type: NodePort, clusterIP: None, selector: {app: web}, ports: [{port: 80}]}
          - {name: b, type: Headless, clusterIP: 10.96.0.5, selector: {app: web}}
        """)
        #expect(errors.map(\.description) == [
            "lab.yaml:5:42: services[0].clusterIP: clusterIP None makes a headless service, but type is NodePort; drop one of the two",
            "lab.yaml:6:42: services[1].clusterIP: a Headless service has no clusterIP; remove it or write clusterIP: None",
        ])
    }

    @Test func localTrafficPolicyAndAffinityConfigNeedTheirSettings() {
        let errors = Lab.errors(Self.base + """
          - name: a
            selector: {app: web}
            ports: [{port: 80}]
            externalTrafficPolicy: Local
            sessionAffinityConfig: {clientIP: {timeoutSeconds: 100000}}
          - name: b
            selector: {app: web}
            ports: [{port: 80}]
            sessionAffinityConfig: {clientIP: {timeoutSeconds: 30}}
        """)
        #expect(errors.map(\.description) == [
            "lab.yaml:8:28: services[0].externalTrafficPolicy: externalTrafficPolicy Local is only for services of type NodePort (this one is ClusterIP)",
            "lab.yaml:9:5: services[0].sessionAffinityConfig: sessionAffinityConfig needs sessionAffinity: ClientIP",
            "lab.yaml:9:56: services[0].sessionAffinityConfig.clientIP.timeoutSeconds: timeoutSeconds 100000 is out of range 1...86400",
            "lab.yaml:13:5: services[1].sessionAffinityConfig: sessionAffinityConfig needs sessionAffinity: ClientIP",
        ])
    }

    @Test func selectorsThatMatchNoPodAreWarningsNotErrors() throws {
        let loaded = try Lab.load(Self.base + """
          - {name: a, selector: {app: web}, ports: [{port: 80}]}
          - {name: b, selector: {app: wbe}, ports: [{port: 80}]}
          - {name: c, namespace: prod, selector: {app: web}, ports: [{port: 80}]}
          - {name: d, ports: [{port: 80}]}
        """)
        #expect(loaded.warnings.map(\.description) == [
            "lab.yaml:6:25: warning: services[1].selector: selector app=wbe matches no pod in namespace \"default\", so service \"b\" has no endpoints",
            "lab.yaml:7:42: warning: services[2].selector: selector app=web matches no pod in namespace \"prod\", so service \"c\" has no endpoints",
            "lab.yaml:8:5: warning: services[3]: service \"d\" has no selector, so it has no endpoints",
        ])
        #expect(loaded.warnings.allSatisfy { $0.severity == .warning })
        #expect(loaded.lab.services.count == 4)
    }

    @Test func warningsDoNotSurviveAsErrorsAndErrorsAreThrownWithoutThem() {
        let errors = Lab.errors(Self.base + "  - {name: b, selector: {app: wbe}, ports: [{port: 0}]}\n")
        #expect(errors.count == 1)
        #expect(errors.allSatisfy { $0.severity == .error })
    }
}
