import Testing
import LabAddress
@testable import LabSpec

/// A valid file decodes to the model docs/architecture.md describes ("The lab file", "Probes"),
/// with the documented defaults.
@Suite struct LabFileDecodingTests {
    static let fullLab = """
    name: demo
    cluster:
      podCIDR: 10.244.0.0/16
      serviceCIDR: 10.96.0.0/16
      network: vxlan
      proxy: nftables
      mtu: 9000
    networks:
      - name: rack-1
        cidr: 192.168.1.0/24
      - name: rack-2
        cidr: 172.16.0.0/16
    nodes:
      - name: node-1
        network: rack-1
        ip: 192.168.1.10
        podCIDR: 10.244.1.0/24
      - name: node-2
        network: rack-2
    pods:
      - name: web-1
        namespace: default
        node: node-1
        ip: 10.244.1.40
        labels: {app: web, tier: 1, canary: true}
        containers:
          - name: server
            agent: {http: [8080], tcp: [9000], udp: [9001]}
          - name: sidecar
            command: [sleep, infinity]
            env: {GREETING: hello}
            restart: on-failure
      - name: web-2
        node: node-2
        labels: {app: web}
        containers:
          - {name: server, agent: {http: [8080]}, ports: [{name: dns, containerPort: 9001, protocol: UDP}]}
      - name: client
        namespace: tools
        node: node-2
    services:
      - name: web
        type: NodePort
        clusterIP: 10.96.0.20
        selector: {app: web}
        ports:
          - {name: http, port: 80, targetPort: 8080, protocol: TCP, nodePort: 30080}
          - {name: dns, port: 53, targetPort: dns, protocol: UDP}
        sessionAffinity: ClientIP
        sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
        externalTrafficPolicy: Local
      - name: web-headless
        clusterIP: None
        selector: {app: web}
      - name: plain
        selector: {app: web}
        ports: [{port: 8080}]
    hosts:
      - name: laptop
        network: rack-1
        ip: 192.168.1.200
    probes:
      - name: client reaches web through the service
        from: client
        to: service/web
        http: {port: 80, path: /hostname}
        repeat: 30
        expect: {servedBy: [web-1, pod/web-2]}
      - {from: client, to: web-1, ping: {count: 5}, expect: {rtt: "<5ms", loss: "0%"}}
      - {from: client, to: web-1, tcp: {port: 9999}, expect: {reach: false}}
      - {from: client, to: web-1, udp: {port: 9001, payload: hi}, expect: {clientIP: client}}
      - {from: web-1, exec: [curl, -sf, "http://127.0.0.1:8080/healthz"]}
      - name: everyone pings everyone
        matrix: {from: "*", to: {app: web}}
        ping: {}
        timeout: 1.5s
        retries: 2
      - {from: laptop, to: service/web, tcp: {port: 80, nodePort: true}}
      - {from: host/laptop, to: 10.244.1.40, udp: {port: 9001}, timeout: 500ms}
      - {matrix: {from: [client, node/node-1], to: [web-1]}, http: {port: 8080, method: POST}}

    """

    @Test func fullFeaturedFileDecodes() throws {
        let loaded = try Lab.load(Self.fullLab)
        let lab = loaded.lab
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")
        #expect(lab.name == "demo")
        #expect(lab.cluster == ClusterSpec(podCIDR: IPv4Network("10.244.0.0/16")!, serviceCIDR: IPv4Network("10.96.0.0/16")!,
                                           network: .vxlan, proxy: .nftables, mtu: 9000))
        #expect(lab.networks == [NetworkSpec(name: "rack-1", cidr: IPv4Network("192.168.1.0/24")!),
                                 NetworkSpec(name: "rack-2", cidr: IPv4Network("172.16.0.0/16")!)])
        #expect(lab.nodes == [NodeSpec(name: "node-1", network: "rack-1", ip: IPv4Address("192.168.1.10"),
                                       podCIDR: IPv4Network("10.244.1.0/24")),
                              NodeSpec(name: "node-2", network: "rack-2")])

        #expect(lab.pods.count == 3)
        let web1 = lab.pods[0]
        #expect(web1.name == "web-1" && web1.namespace == "default" && web1.node == "node-1")
        #expect(web1.ip == IPv4Address(10, 244, 1, 40))
        #expect(web1.labels == ["app": "web", "tier": "1", "canary": "true"])
        #expect(web1.containers == [
            ContainerSpec(name: "server", runtime: .agent(AgentSpec(http: [8080], tcp: [9000], udp: [9001]))),
            ContainerSpec(name: "sidecar", runtime: .command(["sleep", "infinity"]), env: ["GREETING": "hello"], restart: .onFailure),
        ])
        #expect(lab.pods[1].namespace == "default")
        #expect(lab.pods[1].ip == nil)
        #expect(lab.pods[1].containers[0].restart == .always)
        #expect(lab.pods[1].containers[0].ports == [ContainerPortSpec(name: "dns", containerPort: 9001, protocol: .udp)])
        #expect(lab.pods[2].namespace == "tools")
        #expect(lab.pods[2].containers.isEmpty && lab.pods[2].labels.isEmpty)

        let web = lab.services[0]
        #expect(web.type == .nodePort && web.clusterIP == .address(IPv4Address(10, 96, 0, 20)))
        #expect(web.selector == ["app": "web"] && web.namespace == "default")
        #expect(web.ports == [
            ServicePortSpec(name: "http", port: 80, targetPort: .number(8080), protocol: .tcp, nodePort: 30080),
            ServicePortSpec(name: "dns", port: 53, targetPort: .name("dns"), protocol: .udp),
        ])
        #expect(web.sessionAffinity == .clientIP && web.affinityTimeoutSeconds == 60)
        #expect(web.externalTrafficPolicy == .local)
        #expect(lab.services[1].type == .headless && lab.services[1].clusterIP == .none && lab.services[1].ports.isEmpty)
        let plain = lab.services[2]
        #expect(plain.type == .clusterIP && plain.clusterIP == .automatic && plain.sessionAffinity == .none)
        #expect(plain.affinityTimeoutSeconds == 10800 && plain.externalTrafficPolicy == .cluster)
        #expect(plain.ports == [ServicePortSpec(port: 8080, targetPort: .number(8080), protocol: .tcp)])

        #expect(lab.hosts == [HostSpec(name: "laptop", network: "rack-1", ip: IPv4Address(192, 168, 1, 200))])
    }

    @Test func probesDecodeWithTheirDefaults() throws {
        let probes = try Lab.load(Self.fullLab).lab.probes
        #expect(probes.count == 9)
        #expect(probes[0] == ProbeSpec(name: "client reaches web through the service", from: Reference(kind: nil, name: "client"),
                                       to: .object(Reference(kind: .service, name: "web")),
                                       kind: .http(port: 80, path: "/hostname", method: "GET"),
                                       expect: ExpectSpec(servedBy: ["web-1", "web-2"]), repeatCount: 30))
        #expect(probes[1].kind == .ping(count: 5))
        #expect(probes[1].expect == ExpectSpec(rtt: .rtt("<5ms"), loss: .loss("0%")))
        #expect(probes[1].timeoutMilliseconds == 2000 && probes[1].retries == 0 && probes[1].repeatCount == 1)
        #expect(probes[2].expect.reach == false && probes[2].kind == .tcp(port: 9999))
        #expect(probes[3].kind == .udp(port: 9001, payload: "hi") && probes[3].expect.clientIP == "client")
        #expect(probes[4].kind == .exec(["curl", "-sf", "http://127.0.0.1:8080/healthz"]))
        #expect(probes[4].to == nil && probes[4].from == Reference(kind: nil, name: "web-1"))
        #expect(probes[5].matrix == MatrixSpec(from: .allPods, to: .selector(["app": "web"])))
        #expect(probes[5].kind == .ping(count: 3) && probes[5].timeoutMilliseconds == 1500 && probes[5].retries == 2)
        #expect(probes[5].from == nil && probes[5].to == nil)
        #expect(probes[6].nodePort && probes[6].kind == .tcp(port: 80))
        #expect(!probes[0].nodePort)
        #expect(probes[7].to == .address(IPv4Address(10, 244, 1, 40)) && probes[7].from == Reference(kind: .host, name: "laptop"))
        #expect(probes[7].kind == .udp(port: 9001, payload: "hello") && probes[7].timeoutMilliseconds == 500)
        #expect(probes[8].matrix == MatrixSpec(from: .names([Reference(kind: nil, name: "client"), Reference(kind: .node, name: "node-1")]),
                                               to: .names([Reference(kind: nil, name: "web-1")])))
        #expect(probes[8].kind == .http(port: 8080, path: "/", method: "POST"))
    }

    @Test func minimalFileGetsEveryDefault() throws {
        let lab = try Lab.load(Lab.minimal).lab
        #expect(lab.cluster == ClusterSpec())
        #expect(lab.cluster.podCIDR.description == "10.244.0.0/16" && lab.cluster.serviceCIDR.description == "10.96.0.0/16")
        #expect(lab.cluster.network == .routed && lab.cluster.proxy == .iptables && lab.cluster.mtu == 1500)
        #expect(lab.networks == [NetworkSpec.default])
        #expect(lab.networks[0].name == "underlay" && lab.networks[0].cidr.description == "172.18.0.0/24")
        #expect(lab.nodes == [NodeSpec(name: "node-1")])
        #expect(lab.pods.isEmpty && lab.services.isEmpty && lab.hosts.isEmpty && lab.probes.isEmpty)
        #expect(lab.sourceMap.file == "lab.yaml")
    }

    @Test func emptyNetworksListMeansTheDefaultNetwork() throws {
        let lab = try Lab.load(Lab.minimal + "networks: []\npods:\nprobes:\n").lab
        #expect(lab.networks == [NetworkSpec.default])
        #expect(lab.pods.isEmpty && lab.probes.isEmpty)
    }

    @Test func sourceMapRecordsValueAndKeyPositions() throws {
        let map = try Lab.load(Self.fullLab).lab.sourceMap
        #expect(map.position(of: "name") == SourcePosition(line: 1, column: 7))
        #expect(map.keyPosition(of: "name") == SourcePosition(line: 1, column: 1))
        #expect(map.position(of: "cluster.podCIDR") == SourcePosition(line: 3, column: 12))
        #expect(map.keyPosition(of: "cluster.podCIDR") == SourcePosition(line: 3, column: 3))
        #expect(map.position(of: "networks[0].cidr") == SourcePosition(line: 10, column: 11))
        #expect(map.position(of: "nodes[1]") == SourcePosition(line: 18, column: 5))
        #expect(map.position(of: "pods[0].node") == SourcePosition(line: 23, column: 11))
        #expect(map.position(of: "pods[0].labels.app") == SourcePosition(line: 25, column: 19))
        #expect(map.position(of: "pods[0].containers[0].agent.http[0]") == SourcePosition(line: 28, column: 24))
        #expect(map.position(of: "pods[0].containers[1].env.GREETING") == SourcePosition(line: 31, column: 25))
        #expect(map.position(of: "services[0].ports[0].nodePort") == SourcePosition(line: 47, column: 75))
        #expect(map.position(of: "services[0].sessionAffinityConfig.clientIP.timeoutSeconds") == SourcePosition(line: 50, column: 56))
        #expect(map.position(of: "probes[0].expect.servedBy[1]") == SourcePosition(line: 68, column: 32))
        #expect(map.position(of: "probes[5].matrix.from") == SourcePosition(line: 74, column: 20))
        // Unrecorded paths fall back to the nearest ancestor.
        #expect(map.position(of: "pods[1].ip") == map.position(of: "pods[1]"))
    }

    @Test func mergeKeysApplyAnchoredDefaults() throws {
        let lab = try Lab.load("""
        name: demo
        nodes: [{name: node-1}]
        pods:
          - &web {name: web-1, node: node-1, labels: {app: web}}
          - <<: *web
            name: web-2
        """).lab
        #expect(lab.pods.map(\.name) == ["web-1", "web-2"])
        #expect(lab.pods[1].labels == ["app": "web"] && lab.pods[1].node == "node-1")
    }

    @Test func probeNamesNeedNotBeDNSLabels() throws {
        let lab = try Lab.load(Lab.minimal + "probes:\n  - {name: \"Node pings itself!\", from: node-1, to: node-1, ping: {}}\n").lab
        #expect(lab.probes[0].name == "Node pings itself!")
    }
}
