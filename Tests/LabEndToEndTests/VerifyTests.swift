import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct VerifyTests {
    static func demo(_ name: String) throws -> String {
        try String(contentsOf: repositoryRoot.appendingPathComponent("labs/demo.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "name: demo\n", with: "name: \(name)\n")
    }

    @Test func theDemoLabsProbesPassAndBreakingTheDatapathFailsTheRightOnes() throws {
        let name = uniqueLabName("verify")
        try withLab(try Self.demo(name), name: name) { _ in
            let junit = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).xml").path
            defer { try? FileManager.default.removeItem(atPath: junit) }
            let passing = try lab("verify", name, "--junit", junit)
            #expect(passing.status == 0, "\(passing.stdout)\(passing.stderr)")
            #expect(passing.stdout.hasSuffix("7 passed, 0 failed\n"), "\(passing.stdout)")
            #expect(passing.stdout.contains("PASS"))

            // Behind lab's back: the fabric (the router between the racks) forgets node-3's pods.
            try run(["ip", "-n", "lab.\(name).fabric", "route", "del", "10.244.4.0/24"])
            let failing = try lab("verify", name, "--junit", junit)
            #expect(failing.status == 1)
            let failed = failing.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
            #expect(failed.contains { $0.contains("across networks") }, "\(failing.stdout)")
            #expect(failed.contains { $0.contains("pod to pod over http") })
            #expect(!failed.contains { $0.contains("same node") })
            #expect(failing.stdout.hasSuffix("failed\n"))
            let xml = try String(contentsOfFile: junit, encoding: .utf8)
            #expect(xml.contains("<testsuite"))
            #expect(xml.components(separatedBy: "<testcase").count - 1 == 7)
            #expect(xml.contains("<failure"))
            #expect(XMLParser(data: Data(xml.utf8)).parse(), "JUnit must be well-formed XML")

            let json = try lab("verify", name, "--output", "json", "--only", "same node")
            #expect(json.status == 0)
            let decoded = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8))
            let object = decoded as? [String: Any]
            #expect((object?["probes"] as? [Any])?.count == 1, "\(json.stdout)")
            #expect(object?["passed"] as? Int == 1)
        }
    }

    @Test func theDemoWorksInVXLANModeTooAndPassesTheModelCheck() throws {
        let name = uniqueLabName("demovx")
        let text = try Self.demo(name).replacingOccurrences(of: "  network: routed", with: "  network: vxlan")
        #expect(text.contains("network: vxlan"))
        try withLab(text, name: name) { _ in
            let probes = try lab("verify", name)
            #expect(probes.status == 0, "\(probes.stdout)\(probes.stderr)")
            #expect(probes.stdout.hasSuffix("7 passed, 0 failed\n"))
            let model = try lab("verify", name, "--model")
            #expect(model.status == 0, "\(model.stdout)")
            #expect(model.stdout.contains("service/web"), "the model check covers the service")
        }
    }

    @Test func everyProbeKindPassesAndFailsForARealReason() throws {
        let name = uniqueLabName("kinds")
        let text = """
        name: \(name)
        nodes: [{name: node-1}, {name: node-2}]
        pods:
          - {name: a, node: node-1, containers: [{name: agent, agent: {http: [8080], tcp: [9000], udp: [9001]}}]}
          - {name: b, node: node-2, containers: [{name: agent, agent: {http: [8080], tcp: [9000], udp: [9001]}}]}
        probes:
          - {name: ping ok, from: a, to: b, ping: {count: 2}, expect: {loss: "0%"}}
          - {name: http ok, from: a, to: b, http: {port: 8080, path: /hostname}, expect: {status: 200, body: b}}
          - {name: tcp ok, from: a, to: b, tcp: {port: 9000}}
          - {name: udp ok, from: a, to: b, udp: {port: 9001, payload: hi}, expect: {clientIP: a}}
          - {name: exec ok, from: a, exec: [sh, -c, "exit 0"]}
          - {name: tcp closed, from: a, to: b, tcp: {port: 9999}, expect: {reach: false}}
          - {name: tcp closed but expected open, from: a, to: b, tcp: {port: 9999}, timeout: 500ms}
          - {name: udp closed but expected open, from: a, to: b, udp: {port: 9998}, timeout: 500ms}
          - {name: http wrong body, from: a, to: b, http: {port: 8080, path: /hostname}, expect: {body: nope}}
          - {name: exec fails, from: a, exec: [sh, -c, "exit 3"]}
        """
        try withLab(text, name: name) { _ in
            var result = try lab("verify", name)
            #expect(result.status == 1)
            #expect(result.stdout.hasSuffix("6 passed, 4 failed\n"), "\(result.stdout)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            for passing in ["ping ok", "http ok", "tcp ok", "udp ok", "exec ok", "tcp closed "] {
                #expect(lines.contains { $0.hasPrefix("PASS") && $0.contains(passing) }, "\(passing)")
            }
            #expect(result.stdout.contains("ECONNREFUSED"), "a refused connection is named by its errno")
            // Behind lab's back: b's interface goes down, and the ping now fails.
            try run(["ip", "-n", "lab.\(name).pod.b", "link", "set", "eth0", "down"])
            result = try lab("verify", name, "--only", "^ping ok$")
            #expect(result.status == 1)
            #expect(result.stdout.hasSuffix("0 passed, 1 failed\n"), "\(result.stdout)")
        }
    }

    @Test func aLabWithoutProbesIsCheckedAgainstTheKubernetesModel() throws {
        let name = uniqueLabName("model")
        try withLab(fourNodeLab(name), name: name) { _ in
            // By default the covering set; its first line says what it covers.
            let result = try lab("verify", name)
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.hasPrefix("6 pods: "), "the file's 5 and the DNS pod: \(result.stdout)")
            #expect(result.stdout.contains("--all-pairs for all"))
            #expect(result.stdout.contains("checking the Kubernetes network model"))
            // --all-pairs: 30 pod pairs and 6 pod → node probes; the DNS pod's agent answers HTTP
            // on 9153, so 5 no-NAT probes to it; kube-dns's TCP ports 53 and 9153 through its
            // ClusterIP.
            let all = try lab("verify", name, "--all-pairs")
            #expect(all.status == 0, "\(all.stdout)\(all.stderr)")
            #expect(all.stdout.hasPrefix("6 pods: all 30 pod pairs"), "\(all.stdout)")
            #expect(all.stdout.contains("model: service/kube-dns:53 reaches each endpoint"))
            #expect(all.stdout.hasSuffix("43 passed, 0 failed\n"), "\(all.stdout)")
        }
    }

    @Test func anIsolatedPodShowsInTheTruthTable() throws {
        let name = uniqueLabName("matrix")
        let text = fourNodeLab(name) + """

        probes:
          - name: mesh
            matrix: {from: "*", to: "*"}
            ping: {count: 1}
            timeout: 500ms
        """
        try withLab(text, name: name) { _ in
            try run(["ip", "-n", "lab.\(name).pod.c1", "link", "set", "eth0", "down"])
            let result = try lab("verify", name)
            #expect(result.status == 1)
            // c1 can neither send nor receive: 4 + 4 failing cells of 20.
            #expect(result.stdout.hasSuffix("12 passed, 8 failed\n"), "\(result.stdout)")
            #expect(result.stdout.contains("X"), "the observed truth table marks blocked cells")
        }
    }
}
