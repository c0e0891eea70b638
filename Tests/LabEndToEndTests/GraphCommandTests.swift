import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import LabRuntime
import Testing

/// `lab graph` through the binary: from a file without root, every format, the file it writes,
/// its errors; and, as root, the picture of a running lab against the picture of its file.
@Suite struct GraphCommandTests {
    static let demo = repositoryRoot.appendingPathComponent("labs/demo.yaml").path

    @Test func aFileDrawsInEveryFormatWithoutRoot() throws {
        let prefix = isRoot ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", labBinary] : [labBinary]
        let mermaid = try run(prefix + ["graph", Self.demo])
        #expect(mermaid.succeeded, "\(mermaid.stderr)")
        #expect(mermaid.stdout.hasPrefix("flowchart LR\n"))
        let dot = try run(prefix + ["graph", Self.demo, "--format", "dot"])
        #expect(dot.succeeded && dot.stdout.contains("digraph \"demo\" {"), "\(dot.stderr)")
        let json = try run(prefix + ["graph", Self.demo, "--format", "json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["lab"] as? String == "demo")
        let svg = try run(prefix + ["graph", Self.demo, "--format", "svg"])
        #expect(svg.succeeded, "\(svg.stderr)")
        #expect(XMLParser(data: Data(svg.stdout.utf8)).parse(), "the SVG is not XML")
        #expect(svg.stdout.contains("<svg"))
    }

    @Test func outputGoesToTheFileNamed() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("graph-\(UInt32.random(in: 0...UInt32.max)).svg")
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try lab("graph", Self.demo, "-f", "svg", "-o", file.path)
        #expect(result.succeeded && result.stdout.isEmpty, "\(result.stderr)")
        let svg = try String(contentsOf: file, encoding: .utf8)
        #expect(XMLParser(data: Data(svg.utf8)).parse())
        let unwritable = try lab("graph", Self.demo, "-o", "/nonexistent-directory/x.mmd")
        #expect(unwritable.status == 1)
        #expect(unwritable.stderr.contains("/nonexistent-directory/x.mmd"), "\(unwritable.stderr)")
    }

    @Test func wrongArgumentsExitAsElsewhere() throws {
        let invalid = FileManager.default.temporaryDirectory.appendingPathComponent("graph-bad-\(UInt32.random(in: 0...UInt32.max)).yaml")
        try "name: bad\npods: [{name: a, node: nope}]\n".write(to: invalid, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: invalid) }
        #expect(try lab("graph", invalid.path).status == 2)
        #expect(try lab("graph", "labs/no-such-file.yaml").status == 2)
        let notUp = try lab("graph", uniqueLabName("nolab"))
        #expect(notUp.status == 1 && notUp.stderr.contains("is not up"), "\(notUp.stderr)")
        #expect(try lab("graph", Self.demo, "--lab", "demo").status == 64)
        #expect(try lab("graph", Self.demo, "--format", "png").status == 64)
        #expect(try lab("graph", Self.demo, "--pods-per-node=-1").status == 64)
    }

    @Test func aPathIsDrawnInRedAndAnUnknownObjectIsRefused() throws {
        let path = "pod/pod-a,node/node-1,network/rack-1,fabric"
        let dot = try lab("graph", Self.demo, "--format", "dot", "--path", path)
        #expect(dot.succeeded, "\(dot.stderr)")
        let red = dot.stdout.split(separator: "\n").filter { $0.contains("color=\"#dd3333\"") }
        #expect(red.count == 4 + 3, "\(red)")
        let json = try lab("graph", Self.demo, "--format", "json", "--path", path)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let highlights = object?["highlights"] as? [[String: Any]]
        #expect(highlights?.first?["nodes"] as? [String] == ["fabric", "net_rack_1", "node_node_1", "pod_pod_a"])
        let unknown = try lab("graph", Self.demo, "--path", "pod/pod-a,pod/nope")
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("pod/nope") && unknown.stderr.contains("pod/pod-b"), "\(unknown.stderr)")
    }

    @Test func withoutGraphvizSVGNamesThePackageAndExitsThree() throws {
        #expect(throws: EnvironmentError.self) { try Graphviz.svg(from: "digraph g {}", program: nil) }
        do {
            _ = try Graphviz.svg(from: "digraph g {}", program: nil)
        } catch {
            #expect("\(error)" == "dot is not installed; install it with `apt-get install graphviz`")
        }
        // dot's own complaint, when it refuses its input, is passed on.
        #expect {
            _ = try Graphviz.svg(from: "digraph g { a -> }")
        } throws: { error in
            guard let error = error as? GraphvizError else { return false }
            return error.status != 0 && error.description.contains("syntax error")
        }
        #expect(try Graphviz.svg(from: "digraph g { a -> b }").contains("<svg"))
    }

    /// The picture of a running lab (read from its saved topology) is the picture of its file.
    @Test(.enabled(if: isRoot, "builds real namespaces; needs root"))
    func aRunningLabDrawsAsItsFile() throws {
        let name = uniqueLabName("graph")
        let yaml = """
        name: \(name)
        cluster: {network: vxlan, proxy: nftables}
        networks:
          - {name: rack-1, cidr: 192.168.1.0/24}
          - {name: rack-2, cidr: 172.16.0.0/16}
        nodes:
          - {name: node-1, network: rack-1}
          - {name: node-2, network: rack-2}
        pods:
          - {name: a, node: node-1, labels: {app: web}}
          - {name: b, node: node-2, labels: {app: web}}
          - {name: c, node: node-2}
        services:
          - {name: web, selector: {app: web}, type: NodePort, ports: [{port: 80, targetPort: 8080}]}
        hosts:
          - {name: laptop, network: rack-1}
        """
        try withLab(yaml, name: name) { file in
            for format in ["json", "mermaid", "dot"] {
                let running = try lab("graph", name, "--format", format)
                let fromFile = try lab("graph", file, "--format", format)
                #expect(running.succeeded && fromFile.succeeded, "\(running.stderr)\(fromFile.stderr)")
                #expect(running.stdout == fromFile.stdout, "\(format): the running lab draws differently from its file")
            }
            let byOption = try lab("graph", "--lab", name, "--format", "json")
            let json = try lab("graph", file, "--format", "json")
            #expect(byOption.stdout == json.stdout)
            #expect(json.stdout.contains("\"VTEP "))
            let svg = try lab("graph", name, "--format", "svg")
            #expect(svg.succeeded && XMLParser(data: Data(svg.stdout.utf8)).parse(), "\(svg.stderr)")
        }
    }
}
