import Foundation
import Glibc
import LabKernel
import LabAgent
import Testing

/// The one test here that creates network namespaces needs root (CI runs as root).
let namespaceTestsEnabled = getuid() == 0

@Suite(.enabled(if: namespaceTestsEnabled, "creates network namespaces; needs root"))
struct AgentNamespaceTests {
    /// The point of one agent server per lab (docs/architecture.md, "Containers and the
    /// supervisor"): one server, sockets in different namespaces. Both pods listen on
    /// 127.0.0.1:8080 — impossible in one namespace — and each answers with its own name to a
    /// client inside its own namespace.
    @Test func listenersLiveInTheirPodsNamespaces() throws {
        let prefix = "labtest-agent-\(getpid())"
        var namespaces: [NetworkNamespace] = []
        defer { for namespace in namespaces { try? NetworkNamespace.delete(namespace.name) } }
        for pod in ["a", "b"] {
            let namespace = try NetworkNamespace.create("\(prefix)-\(pod)")
            namespaces.append(namespace)
            try RouteSocket(in: namespace).submit(.setUp(link: "lo"))
        }
        let listeners = zip(["a", "b"], namespaces).map { pod, namespace in
            AgentListener(pod: pod, protocol: .http, port: 8080, namespace: namespace, address: "127.0.0.1")
        }
        try withServer(listeners) { server in
            #expect(server.server.boundPorts == [8080, 8080])
            for (pod, namespace) in zip(["a", "b"], namespaces) {
                let body = try namespace.perform { try TestSocket.get("/hostname", port: 8080).response.body }
                #expect(body == pod)
            }
        }
    }
}
