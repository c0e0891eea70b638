import Foundation
import Testing

/// Services the way kube-proxy builds them, checked with curl and nc from pods, nodes and an
/// external host.
func serviceLab(_ name: String, proxy: String) -> String {
    """
    name: \(name)
    cluster: {proxy: \(proxy)}
    networks:
      - {name: rack-1, cidr: 192.168.1.0/24}
      - {name: rack-2, cidr: 172.16.0.0/16}
    nodes:
      - {name: node-1, network: rack-1}
      - {name: node-2, network: rack-1}
      - {name: node-3, network: rack-2}
    pods:
      - {name: client, node: node-1, labels: {app: client}, containers: [{name: a, agent: {http: [8080]}}]}
      - {name: web-1, node: node-1, labels: {app: web}, containers: [{name: a, agent: {http: [8080], udp: [9001]}}]}
      - {name: web-2, node: node-2, labels: {app: web}, containers: [{name: a, agent: {http: [8080], udp: [9001]}}]}
      - {name: web-3, node: node-3, labels: {app: web}, containers: [{name: a, agent: {http: [8080], udp: [9001]}}]}
    hosts:
      - {name: laptop, network: rack-1}
    services:
      - name: web
        type: NodePort
        clusterIP: 10.96.0.20
        selector: {app: web}
        ports:
          - {name: http, port: 80, targetPort: 8080, nodePort: 30080}
          - {name: dns, port: 53, targetPort: 9001, protocol: UDP}
      - name: local
        type: NodePort
        clusterIP: 10.96.0.11
        externalTrafficPolicy: Local
        selector: {app: web}
        ports: [{port: 80, targetPort: 8080, nodePort: 30081}]
      - name: sticky
        clusterIP: 10.96.0.12
        selector: {app: web}
        sessionAffinity: ClientIP
        ports: [{port: 80, targetPort: 8080}]
      - name: empty
        clusterIP: 10.96.0.13
        selector: {app: nothing}
        ports: [{port: 80, targetPort: 8080}]
    """
}

func curl(_ namespace: String, _ url: String) throws -> CommandResult {
    try run(["ip", "netns", "exec", namespace, "curl", "-s", "--max-time", "3", url])
}

@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct ServiceTests {
    @Test(arguments: ["iptables", "nftables"])
    func clusterIPLoadBalancesAcrossNodesAndNetworksAndKeepsThePodIP(_ proxy: String) throws {
        let name = uniqueLabName("svc-\(proxy.prefix(3))")
        try withLab(serviceLab(name, proxy: proxy), name: name) { _ in
            let client = "lab.\(name).pod.client"
            var servedBy = Set<String>()
            for _ in 0..<40 {
                let answer = try curl(client, "http://10.96.0.20/hostname")
                #expect(answer.succeeded)
                servedBy.insert(answer.stdout)
                if servedBy.count == 3 { break }
            }
            #expect(servedBy == ["web-1", "web-2", "web-3"])
            // Pod → ClusterIP → remote pod: no SNAT, the endpoint sees the client pod's own IP.
            for _ in 0..<6 {
                #expect(try curl(client, "http://10.96.0.20/clientip").stdout.hasPrefix("10.244.1.2:"))
            }
            // NodePort on every node IP, from outside the cluster.
            for nodeIP in ["192.168.1.2", "192.168.1.3", "172.16.0.2"] {
                let answer = try curl("lab.\(name).host.laptop", "http://\(nodeIP):30080/hostname")
                #expect(answer.succeeded && answer.stdout.hasPrefix("web-"), "NodePort on \(nodeIP): \(answer.stdout)")
            }
            // UDP through the ClusterIP.
            let udp = try run(["ip", "netns", "exec", client, "sh", "-c", "printf x | timeout 3 nc -u -w 1 10.96.0.20 53"]).stdout
            #expect(udp.hasPrefix("web-"), "udp answer: \(udp)")
            // A service without endpoints is refused at once, not left to time out.
            let started = Date()
            let refused = try curl(client, "http://10.96.0.13/")
            #expect(refused.status == 7, "curl exit \(refused.status): connection refused expected")
            #expect(Date().timeIntervalSince(started) < 1.5)
        }
    }

    @Test func hairpinAffinityLocalPolicyAndTheRulesAsKubeProxyWritesThem() throws {
        let name = uniqueLabName("svc-more")
        try withLab(serviceLab(name, proxy: "iptables"), name: name) { _ in
            // Hairpin: an endpoint reaching its own service, whichever endpoint is picked.
            for _ in 0..<10 {
                #expect(try curl("lab.\(name).pod.web-1", "http://10.96.0.20/hostname").succeeded)
            }
            // ClientIP affinity pins one client to one endpoint.
            let sticky = try (0..<8).map { _ in try curl("lab.\(name).pod.client", "http://10.96.0.12/hostname").stdout }
            #expect(Set(sticky).count == 1, "\(sticky)")
            // externalTrafficPolicy Local: node-1's own endpoint only, and the client IP kept.
            let laptop = "lab.\(name).host.laptop"
            for _ in 0..<5 {
                #expect(try curl(laptop, "http://192.168.1.2:30081/hostname").stdout == "web-1")
            }
            #expect(try curl(laptop, "http://192.168.1.2:30081/clientip").stdout.hasPrefix("192.168.1.4:"))
            let rules = try run(["ip", "netns", "exec", "lab.\(name).node.node-1", "iptables-save"]).stdout
            for chain in ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-MARK-MASQ", "KUBE-POSTROUTING", "KUBE-SVL-", "KUBE-EXT-", "KUBE-SEP-"] {
                #expect(rules.contains(chain), "\(chain) missing from iptables-save")
            }
            #expect(rules.contains("--probability 0.33333333"))
            #expect(rules.contains("-m recent"))
            #expect(rules.contains("has no endpoints"))
        }
    }

    /// A named targetPort reaches each pod on the number that pod gives the name; an SCTP port
    /// and an allocated nodePort go into the rules like any other (SCTP traffic itself is not
    /// sent: neither the agent nor curl/nc speak it).
    @Test(arguments: ["iptables", "nftables"])
    func namedTargetPortsSCTPAndAllocatedNodePorts(_ proxy: String) throws {
        let name = uniqueLabName("svc-named")
        let yaml = """
        name: \(name)
        cluster: {proxy: \(proxy)}
        nodes: [{name: n1}, {name: n2}]
        pods:
          - {name: a, node: n1, labels: {app: web}, containers: [{name: s, agent: {http: [8080]}, ports: [{name: web, containerPort: 8080}, {name: sc, containerPort: 5000, protocol: SCTP}]}]}
          - {name: b, node: n2, labels: {app: web}, containers: [{name: s, agent: {http: [9090]}, ports: [{name: web, containerPort: 9090}]}]}
          - {name: client, node: n1}
        services:
          - {name: web, clusterIP: 10.96.0.20, selector: {app: web}, ports: [{name: http, port: 80, targetPort: web}, {name: s, port: 5000, targetPort: sc, protocol: SCTP}]}
          - {name: np, type: NodePort, clusterIP: 10.96.0.11, selector: {app: web}, ports: [{port: 81, targetPort: web}]}
        """
        try withLab(yaml, name: name) { _ in
            let client = "lab.\(name).pod.client"
            var served = Set<String>()
            for _ in 0..<16 { served.insert(try curl(client, "http://10.96.0.20/hostname").stdout) }
            #expect(served == ["a", "b"], "both pods, each on its own port: \(served)")
            // The NodePort service got 30000, the lowest free nodePort, and answers on it.
            let status = try run([labBinary, "status", name]).stdout
            #expect(status.contains("81:30000/TCP→web"), "\(status)")
            #expect(try curl(client, "http://\(try ipv4Address(in: "lab.\(name).node.n2")):30000/hostname").succeeded)
            let node = "lab.\(name).node.n1"
            if proxy == "iptables" {
                let rules = try run(["ip", "netns", "exec", node, "iptables-save", "-t", "nat"]).stdout
                #expect(rules.contains("-p sctp") && rules.contains("--to-destination 10.244.1.2:5000"), "\(rules)")
                #expect(rules.contains("--to-destination 10.244.2.2:9090"))
            } else {
                let table = try run(["ip", "netns", "exec", node, "nft", "list", "table", "ip", "kube-proxy"]).stdout
                #expect(table.contains("sctp") && table.contains("dnat to 10.244.1.2:5000"), "\(table)")
                #expect(table.contains("dnat to 10.244.2.2:9090"))
            }
        }
    }
}
