import Foundation
import LabSpec
import Testing
@testable import LabPlan

/// The expected path of `lab trace` for the tour's flows on the example labs, in both proxy
/// modes and both network modes, pinned in `Golden/trace/`: every kind of hop (a pod's route,
/// cni0's port, a node's route, the fabric's switching and routing, kube-proxy's rules forked
/// per endpoint, masquerade, VXLAN encapsulation, the reply's un-NAT) shows up as a diff a
/// reviewer reads. Regenerate with `UPDATE_GOLDEN=1 swift test --filter TraceGoldenTests`.
@Suite struct TraceGoldenTests {
    struct Case: CustomStringConvertible, Sendable {
        var golden: String
        var lab: String
        var proxy: ProxyMode?
        var network: NetworkMode?
        var request: TraceRequest
        var description: String { golden }
    }

    static let cases: [Case] = [
        Case(golden: "demo-same-node", lab: "demo", request: TraceRequest(from: "pod-a", to: "pod-b")),
        Case(golden: "demo-across-nodes", lab: "demo", request: TraceRequest(from: "pod-a", to: "web-2", port: 8080)),
        Case(golden: "demo-across-networks", lab: "demo", request: TraceRequest(from: "pod-a", to: "multi-container-pod")),
        Case(golden: "demo-service", lab: "demo", request: TraceRequest(from: "pod-a", to: "service/web", port: 80)),
        Case(golden: "demo-service-hairpin", lab: "demo", request: TraceRequest(from: "pod-b", to: "service/web", port: 80)),
        Case(golden: "demo-node-port", lab: "demo", request: TraceRequest(from: "laptop", to: "service/web", port: 30080, nodePort: true)),
        Case(golden: "demo-node-to-service", lab: "demo", request: TraceRequest(from: "node/node-2", to: "service/web", port: 80)),
        Case(golden: "demo-host-to-cluster-ip", lab: "demo", request: TraceRequest(from: "laptop", to: "10.96.0.20", port: 80)),
        Case(golden: "demo-udp-no-listener", lab: "demo", request: TraceRequest(from: "pod-a", to: "web-2", port: 9001, protocol: .udp)),
        Case(golden: "demo-nftables-service", lab: "demo", proxy: .nftables, request: TraceRequest(from: "pod-a", to: "service/web", port: 80)),
        Case(golden: "demo-nftables-node-port", lab: "demo", proxy: .nftables,
             request: TraceRequest(from: "laptop", to: "service/web", port: 30080, nodePort: true)),
        Case(golden: "demo-vxlan-service", lab: "demo", network: .vxlan, request: TraceRequest(from: "pod-a", to: "service/web", port: 80)),
        Case(golden: "overlay-across-networks", lab: "overlay", request: TraceRequest(from: "a", to: "c")),
        Case(golden: "three-networks-host-to-pod", lab: "three-networks", request: TraceRequest(from: "laptop", to: "d1")),
        // NetworkPolicy: the pod chain and the policy chain that marks the flow allowed, or the
        // REJECT that ends it, with the policies that isolate the pod.
        Case(golden: "netpol-allowed-same-node", lab: "netpol", request: TraceRequest(from: "api", to: "db", port: 5432)),
        Case(golden: "netpol-denied-ingress", lab: "netpol", request: TraceRequest(from: "web", to: "db", port: 5432)),
        Case(golden: "netpol-allowed-service", lab: "netpol", request: TraceRequest(from: "api", to: "service/db", port: 5432)),
        Case(golden: "netpol-denied-service", lab: "netpol", request: TraceRequest(from: "web", to: "service/db", port: 5432)),
        Case(golden: "netpol-denied-egress", lab: "netpol", request: TraceRequest(from: "api", to: "web", port: 8080)),
        Case(golden: "netpol-allowed-metrics-from-ops", lab: "netpol", request: TraceRequest(from: "prometheus", to: "db", port: 8080)),
        Case(golden: "netpol-vxlan-denied-ingress", lab: "netpol", network: .vxlan, request: TraceRequest(from: "web", to: "db", port: 5432)),
        // A node's own packet to a pod behind another node leaves by flannel.1 with its address.
        Case(golden: "netpol-vxlan-node-to-pod", lab: "netpol", network: .vxlan, request: TraceRequest(from: "node/node-2", to: "db", port: 5432)),
        Case(golden: "demo-vxlan-node-to-pod", lab: "demo", network: .vxlan, request: TraceRequest(from: "node/node-1", to: "web-2", port: 8080)),
        Case(golden: "demo-vxlan-node-to-service", lab: "demo", network: .vxlan, request: TraceRequest(from: "node/node-1", to: "service/web", port: 80)),
        Case(golden: "netpol-nftables-allowed-same-node", lab: "netpol", proxy: .nftables, request: TraceRequest(from: "api", to: "db", port: 5432)),
        Case(golden: "netpol-nftables-denied-service", lab: "netpol", proxy: .nftables, request: TraceRequest(from: "web", to: "service/db", port: 5432)),
    ]

    static func topology(_ name: String, proxy: ProxyMode?, network: NetworkMode?) throws -> Topology {
        var loaded = try LabFileLoader.load(path: GoldenPlanTests.root.appendingPathComponent("labs/\(name).yaml").path).lab
        if let proxy { loaded.cluster.proxy = proxy }
        if let network { loaded.cluster.network = network }
        return try TopologyBuilder.build(loaded)
    }

    @Test(arguments: cases)
    func expectedPathMatchesGolden(_ testCase: Case) throws {
        let topology = try Self.topology(testCase.lab, proxy: testCase.proxy, network: testCase.network)
        let flow = try TraceFlow.resolve(testCase.request, in: topology)
        let expected = ExpectedPath.walk(flow, in: topology)
        let text = (TraceTextReport.header(expected, lab: topology.lab) + [""] + TraceTextReport.expected(expected))
            .joined(separator: "\n") + "\n"
        let golden = GoldenPlanTests.root.appendingPathComponent("Tests/LabPlanTests/Golden/trace/\(testCase.golden).txt")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: golden.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: golden, atomically: true, encoding: .utf8)
        }
        let pinned = try String(contentsOf: golden, encoding: .utf8)
        #expect(text == pinned, "expected path of \(testCase.golden) differs from \(golden.lastPathComponent)")
    }
}
