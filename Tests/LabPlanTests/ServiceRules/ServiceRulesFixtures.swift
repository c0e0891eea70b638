import LabAddress
@testable import LabSpec
@testable import LabPlan

/// Labs built in code for the rule renderers, so the golden text depends on neither the YAML
/// decoder nor the example labs.
enum ServiceRulesFixtures {
    /// Three nodes, web pods on two of them, and one service of every kind the renderers handle.
    ///
    /// - node-1: web-1 (10.244.1.2) and web-2 (explicit 10.244.1.10, which kube-proxy's string
    ///   sort puts *before* 10.244.1.2); node-2: web-3 and the DNS pod; node-3: no pods, so
    ///   `externalTrafficPolicy: Local` has nothing local there.
    static func lab() -> LabFile {
        let web = ["app": "web"]
        let nothing = ["app": "nothing"]
        return LabFile(
            name: "svc",
            // The DNS pod and service are written out below (with an SCTP port the built-in
            // kube-dns lacks), so the built-in ones are off.
            cluster: ClusterSpec(dns: nil),
            nodes: [NodeSpec(name: "node-1"), NodeSpec(name: "node-2"), NodeSpec(name: "node-3")],
            pods: [
                PodSpec(name: "web-1", node: "node-1", labels: web),
                PodSpec(name: "web-2", node: "node-1", ip: IPv4Address("10.244.1.10")!, labels: web),
                PodSpec(name: "web-3", node: "node-2", labels: web),
                PodSpec(name: "coredns", namespace: "kube-system", node: "node-2", labels: ["k8s-app": "kube-dns"]),
            ],
            services: [
                // ClusterIP, 3 endpoints on 2 nodes; a named targetPort `lab` cannot resolve yet.
                ServiceSpec(name: "web", selector: web, ports: [
                    ServicePortSpec(name: "http", port: 80, targetPort: .number(8080)),
                    ServicePortSpec(name: "metrics", port: 9090, targetPort: .name("metrics")),
                ]),
                ServiceSpec(name: "web-nodeport", type: .nodePort, selector: web,
                            ports: [ServicePortSpec(port: 80, targetPort: .number(8080), nodePort: 30080)]),
                ServiceSpec(name: "web-local", type: .nodePort, selector: web,
                            ports: [ServicePortSpec(name: "http", port: 80, targetPort: .number(8080), nodePort: 30081)],
                            externalTrafficPolicy: .local),
                ServiceSpec(name: "empty", selector: nothing, ports: [ServicePortSpec(port: 80)]),
                ServiceSpec(name: "empty-nodeport", type: .nodePort, selector: nothing,
                            ports: [ServicePortSpec(port: 80, nodePort: 30082)]),
                ServiceSpec(name: "sticky", selector: web, ports: [ServicePortSpec(port: 8080)],
                            sessionAffinity: .clientIP, affinityTimeoutSeconds: 600),
                ServiceSpec(name: "kube-dns", namespace: "kube-system", clusterIP: .address(IPv4Address("10.96.0.10")!),
                            selector: ["k8s-app": "kube-dns"], ports: [
                                ServicePortSpec(name: "dns", port: 53, protocol: .udp),
                                ServicePortSpec(name: "dns-tcp", port: 53, protocol: .tcp),
                                ServicePortSpec(name: "dns-sctp", port: 53, protocol: .sctp),
                            ]),
                ServiceSpec(name: "web-headless", type: .headless, clusterIP: .none, selector: web,
                            ports: [ServicePortSpec(port: 80)]),
            ]
        )
    }

    static func topology() throws -> Topology { try TopologyBuilder.build(lab()) }

    /// The example of reference/k8s-datapath.md §1.3 (and kube-proxy's own tests): `ns1/svc1:p80`
    /// at 172.30.0.41:80, NodePort 30080, targetPort 8080, cluster CIDR 10.244.0.0/16, endpoints
    /// 10.244.1.2 and 10.244.1.3 on node-1 and 10.244.2.2 on node-2.
    static func referenceExample() throws -> Topology {
        let labels = ["app": "svc1"]
        let file = LabFile(
            name: "ref",
            // kube-proxy's own example has no DNS service.
            cluster: ClusterSpec(podCIDR: IPv4Network("10.244.0.0/16")!, serviceCIDR: IPv4Network("172.30.0.0/16")!, dns: nil),
            nodes: [NodeSpec(name: "node-1", podCIDR: IPv4Network("10.244.1.0/24")!),
                    NodeSpec(name: "node-2", podCIDR: IPv4Network("10.244.2.0/24")!)],
            pods: [
                PodSpec(name: "a", namespace: "ns1", node: "node-1", ip: IPv4Address("10.244.1.2")!, labels: labels),
                PodSpec(name: "b", namespace: "ns1", node: "node-1", ip: IPv4Address("10.244.1.3")!, labels: labels),
                PodSpec(name: "c", namespace: "ns1", node: "node-2", ip: IPv4Address("10.244.2.2")!, labels: labels),
            ],
            services: [
                ServiceSpec(name: "svc1", namespace: "ns1", type: .nodePort, clusterIP: .address(IPv4Address("172.30.0.41")!),
                            selector: labels,
                            ports: [ServicePortSpec(name: "p80", port: 80, targetPort: .number(8080), nodePort: 30080)]),
            ]
        )
        return try TopologyBuilder.build(file)
    }
}
