import Testing
@testable import LabSpec

/// `LabFile.resolve(_:)`: what later stages use to turn a probe's ends into objects.
@Suite struct ReferenceResolutionTests {
    static let lab = LabFile(
        name: "demo",
        nodes: [NodeSpec(name: "node-1")],
        pods: [PodSpec(name: "web-1", node: "node-1"), PodSpec(name: "both", node: "node-1")],
        services: [ServiceSpec(name: "web"), ServiceSpec(name: "api"), ServiceSpec(name: "api", namespace: "prod")],
        hosts: [HostSpec(name: "laptop"), HostSpec(name: "both")])

    @Test func bareNamesSearchPodsNodesAndHosts() {
        #expect(Self.lab.resolve(Reference("web-1")!) == .pod(0))
        #expect(Self.lab.resolve(Reference("node-1")!) == .node(0))
        #expect(Self.lab.resolve(Reference("laptop")!) == .host(0))
        #expect(Self.lab.resolve(Reference("web")!) == .unknown)
        #expect(Self.lab.resolve(Reference("both")!) == .ambiguous([.pod, .host]))
    }

    @Test func qualifiedNamesSearchTheirKindOnly() {
        #expect(Self.lab.resolve(Reference("host/both")!) == .host(1))
        #expect(Self.lab.resolve(Reference("pod/both")!) == .pod(1))
        #expect(Self.lab.resolve(Reference("node/web-1")!) == .unknown)
        #expect(Self.lab.resolve(Reference("service/web")!) == .service(0))
        #expect(Self.lab.resolve(Reference("service/api")!) == .ambiguous([.service]))
        #expect(Self.lab.resolve(Reference("service/api.prod")!) == .service(2))
        #expect(Self.lab.resolve(Reference("service/api.dev")!) == .unknown)
        #expect(Self.lab.resolve(Reference("service/web")!).kind == .service)
    }
}
