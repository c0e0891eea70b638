import LabAddress
@testable import LabSpec

/// Lab files built in code, so the planner's tests do not depend on the YAML decoder.
enum Fixtures {
    /// Three networks, four nodes (two sharing a network), pods on each, one host.
    static func threeNetworks(name: String = "t3") -> LabFile {
        LabFile(
            name: name,
            networks: [
                NetworkSpec(name: "rack-1", cidr: IPv4Network("192.168.1.0/24")!),
                NetworkSpec(name: "rack-2", cidr: IPv4Network("172.16.0.0/16")!),
                NetworkSpec(name: "rack-3", cidr: IPv4Network("10.10.0.0/24")!),
            ],
            nodes: [
                NodeSpec(name: "node-1", network: "rack-1"),
                NodeSpec(name: "node-2", network: "rack-1", ip: IPv4Address("192.168.1.2")!),
                NodeSpec(name: "node-3", network: "rack-2", podCIDR: IPv4Network("10.244.1.0/24")!),
                NodeSpec(name: "node-4", network: "rack-3"),
            ],
            pods: [
                PodSpec(name: "a", node: "node-1"),
                PodSpec(name: "b", node: "node-1", ip: IPv4Address("10.244.2.2")!),
                PodSpec(name: "c", node: "node-1"),
                PodSpec(name: "d", node: "node-3", labels: ["app": "web"]),
                PodSpec(name: "e", node: "node-4", labels: ["app": "web"]),
            ],
            services: [
                ServiceSpec(name: "web", selector: ["app": "web"], ports: [ServicePortSpec(port: 80, targetPort: .number(8080))]),
                ServiceSpec(name: "fixed", clusterIP: .address(IPv4Address("10.96.0.1")!), ports: [ServicePortSpec(port: 53)]),
                ServiceSpec(name: "headless", type: .headless, clusterIP: .none, selector: ["app": "web"]),
            ],
            hosts: [HostSpec(name: "laptop", network: "rack-2")]
        )
    }
}
