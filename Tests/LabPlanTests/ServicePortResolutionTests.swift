import LabAddress
@testable import LabSpec
import Testing
@testable import LabPlan

/// What a service port becomes on a node: named targetPorts resolved pod by pod, and nodePorts
/// allocated for NodePort services that do not name one.
@Suite struct ServicePortResolutionTests {
    func lab(_ services: [ServiceSpec]) -> LabFile {
        LabFile(
            name: "ports",
            nodes: [NodeSpec(name: "node-1")],
            pods: [
                PodSpec(name: "a", node: "node-1", labels: ["app": "web"], containers: [
                    ContainerSpec(name: "s", runtime: .agent(AgentSpec(http: [8080])),
                                  ports: [ContainerPortSpec(name: "web", containerPort: 8080)]),
                ]),
                PodSpec(name: "b", node: "node-1", labels: ["app": "web"], containers: [
                    ContainerSpec(name: "s", runtime: .agent(AgentSpec(http: [9090])),
                                  ports: [ContainerPortSpec(name: "web", containerPort: 9090),
                                          ContainerPortSpec(name: "dns", containerPort: 53, protocol: .udp)]),
                ]),
            ],
            services: services)
    }

    @Test func aNamedTargetPortIsResolvedInEachPod() throws {
        let topology = try TopologyBuilder.build(lab([
            ServiceSpec(name: "web", selector: ["app": "web"], ports: [
                ServicePortSpec(name: "http", port: 80, targetPort: .name("web")),
                ServicePortSpec(name: "dns", port: 53, targetPort: .name("dns"), protocol: .udp),
                ServicePortSpec(name: "none", port: 81, targetPort: .name("web"), protocol: .udp),
            ]),
        ]))
        let ports = ProxiedServicePort.all(in: topology, node: "node-1")
        let http = try #require(ports.first { $0.name.port == "http" })
        #expect(http.endpoints.map(\.text) == ["10.244.1.2:8080", "10.244.1.3:9090"])
        let dns = try #require(ports.first { $0.name.port == "dns" })
        #expect(dns.endpoints.map(\.text) == ["10.244.1.3:53"], "only b declares dns")
        let none = try #require(ports.first { $0.name.port == "none" })
        #expect(none.endpoints.isEmpty && none.unresolvedTargetPort == "web", "no pod has a UDP port named web")
        let rules = IPTablesRules.render(topology: topology, node: topology.nodes[0], options: IPTablesRules.Options(hooksInBuffer: false))
        #expect(rules.contains("--to-destination 10.244.1.3:9090"))
        #expect(rules.contains("\"default/web:none has no endpoints\""))
    }

    @Test func nodePortServicesWithoutANodePortGetTheLowestFreeOne() throws {
        let topology = try TopologyBuilder.build(lab([
            ServiceSpec(name: "a", type: .nodePort, selector: ["app": "web"], ports: [ServicePortSpec(port: 80, nodePort: 30000)]),
            ServiceSpec(name: "b", type: .nodePort, selector: ["app": "web"], ports: [ServicePortSpec(port: 80), ServicePortSpec(port: 81)]),
            ServiceSpec(name: "c", selector: ["app": "web"], ports: [ServicePortSpec(port: 80)]),
        ]))
        #expect(topology.services.map { $0.ports.map(\.nodePort) } == [[30000], [30001, 30002], [nil], [nil, nil, nil]], "then kube-dns")
    }

    @Test func allocatedNodePortsAndClusterIPsStayWhereTheyWere() throws {
        let before = try TopologyBuilder.build(lab([
            ServiceSpec(name: "b", type: .nodePort, selector: ["app": "web"], ports: [ServicePortSpec(port: 80)]),
        ]))
        let after = try TopologyBuilder.build(lab([
            ServiceSpec(name: "new", type: .nodePort, selector: ["app": "web"], ports: [ServicePortSpec(port: 80)]),
            ServiceSpec(name: "b", type: .nodePort, selector: ["app": "web"], ports: [ServicePortSpec(port: 80)]),
        ]), previous: before)
        #expect(after.services[1].ports[0].nodePort == before.services[0].ports[0].nodePort)
        #expect(after.services[1].clusterIP == before.services[0].clusterIP)
        #expect(after.services[0].ports[0].nodePort == 30001)
        #expect(after.services[0].clusterIP == IPv4Address("10.96.0.2"))
    }
}
