import Foundation
import Testing

@Suite struct CommandLineTests {
    @Test func everyExampleLabValidates() throws {
        let labs = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("labs").path)
            .filter { $0.hasSuffix(".yaml") }
        #expect(!labs.isEmpty)
        for file in labs {
            let result = try lab("validate", repositoryRoot.appendingPathComponent("labs/\(file)").path)
            #expect(result.succeeded, "\(file): \(result.stderr)")
            #expect(result.stdout.contains(": ok: lab "))
        }
    }

    /// `lab trace`'s `--output` is the report's format, or with `--graph` the picture's file;
    /// anything else, and a picture format without `--graph`, is bad usage before any lab is
    /// looked up.
    @Test func traceOutputAndFormatAreCheckedBeforeAnythingElse() throws {
        let badOutput = try lab("trace", "--lab", "no-such-lab", "pod-a", "pod-b", "-o", "yaml")
        #expect(badOutput.status == 64)
        #expect(badOutput.stderr.contains("--output must be text or json"))
        let formatAlone = try lab("trace", "--lab", "no-such-lab", "pod-a", "pod-b", "--format", "dot")
        #expect(formatAlone.status == 64)
        #expect(formatAlone.stderr.contains("give --graph too"))
        let graphToFile = try lab("trace", "--lab", "no-such-lab", "pod-a", "pod-b", "--graph", "-o", "yaml")
        #expect(graphToFile.status == 1, "with --graph, -o names a file: the missing lab is the error")
        #expect(graphToFile.stderr.contains("no-such-lab"))
    }

    @Test func theBuiltInDemoIsLabsDemoYaml() throws {
        // `lab up --dry-run` with no file and no ./lab.yaml uses the built-in demo; it must plan
        // exactly what labs/demo.yaml plans.
        let builtIn = try run(["sh", "-c", "cd / && exec \"$0\" up --dry-run", labBinary])
        let file = try lab("up", "--dry-run", repositoryRoot.appendingPathComponent("labs/demo.yaml").path)
        #expect(builtIn.succeeded, "\(builtIn.stderr)")
        // The neighbour comment quotes the host's table at that moment, which other labs change.
        func plan(_ text: String) -> [Substring] { text.split(separator: "\n").filter { !$0.hasPrefix("# neighbours:") } }
        #expect(plan(builtIn.stdout) == plan(file.stdout))
        #expect(builtIn.stdout.contains("# neighbours:"))
    }

    @Test func anInvalidFileExitsTwoWithItsPositionAndTouchesNothing() throws {
        let name = uniqueLabName("bad")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).yaml")
        try """
        name: \(name)
        nodes:
          - {name: node-1}
        pods:
          - name: web
            node: node-9
        """.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try lab("up", file.path)
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(file.path):6:11: pods[0].node:"), "\(result.stderr)")
        #expect(result.stderr.contains("node-1"))
        #expect(try namespaces(of: name).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/run/lab/\(name)"))
        #expect(try lab("validate", file.path).status == 2)
    }

    @Test func dryRunAndValidateNeedNoRoot() throws {
        let demo = repositoryRoot.appendingPathComponent("labs/demo.yaml").path
        guard isRoot else {
            #expect(try lab("validate", demo).succeeded)
            return
        }
        let nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", labBinary]
        let validate = try run(nobody + ["validate", demo])
        #expect(validate.succeeded, "\(validate.stderr)")
        let dryRun = try run(nobody + ["up", "--dry-run", demo])
        #expect(dryRun.succeeded, "\(dryRun.stderr)")
        #expect(dryRun.stdout.contains("ip netns add lab.demo.fabric"))
        let up = try run(nobody + ["up", demo])
        #expect(up.status == 3)
        #expect(up.stderr.contains("needs root"))
        #expect(up.stderr.split(separator: "\n").count == 1)
        let down = try run(nobody + ["down", "demo"])
        #expect(down.status == 3)
    }

    /// A generated file with hundreds of mistakes prints the first 50 and counts the rest.
    @Test func thousandsOfErrorsArePrintedAsTheFirstFiftyAndACount() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(uniqueLabName("many")).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        let pods = (0..<300).map { "  - {name: p\($0), node: n9}" }.joined(separator: "\n")
        try "name: many\nnodes: [{name: n1}]\npods:\n\(pods)\n".write(to: file, atomically: true, encoding: .utf8)
        let result = try lab("validate", file.path)
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 52, "\(lines.count) lines")
        #expect(lines[50] == "lab: … and 250 more errors not shown")
        #expect(lines[51] == "lab: 300 errors in the lab file; nothing was changed")
    }

    @Test func badUsageExits64() throws {
        #expect(try lab("up", "--no-such-flag").status == 64)
        #expect(try lab("exec", "pod-a").status == 64)
    }

    /// A lab is named the same way by every command: `--lab`, and for down/status/verify also
    /// as the argument, with the same meaning and the same errors.
    @Test func theLabIsNamedByArgumentOrByOption() throws {
        let absent = uniqueLabName("absent")
        for command in ["status", "verify", "down"] {
            let positional = try lab(command, absent)
            let option = try lab(command, "--lab", absent)
            #expect(positional.status == option.status, "\(command)")
            // The list of labs up that an error adds is other tests' labs, which come and go.
            func said(_ result: CommandResult) -> String {
                result.stdout + (result.stderr.split(separator: "(").first ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            }
            #expect(said(positional) == said(option), "\(command): \(positional.stderr) / \(option.stderr)")
            #expect(try lab(command, absent, "--lab", "\(absent)-other").status == 64, "\(command)")
            #expect(try lab(command, "--lab", "../etc").status == 64, "\(command)")
            #expect(try lab(command, "--help").stdout.contains("--lab <lab>"), "\(command)")
        }
        for command in ["status", "verify"] {
            let result = try lab(command, "--lab", absent)
            #expect(result.status == 1)
            #expect(result.stderr.hasPrefix("lab: lab \"\(absent)\" is not up"), "\(result.stderr)")
        }
        #expect(try lab("exec", "--lab", "../etc", "pod-a", "--", "true").status == 64)
        #expect(try lab("logs", "--lab", "../etc", "pod-a").status == 64)
        #expect(try lab("exec", "--help").stdout.contains("--lab <lab>"))
    }
}

@Suite struct DoctorTests {
    @Test func doctorReportsPrivilegesAndTools() throws {
        let result = try lab("doctor")
        #expect(result.stdout.contains("privileges"))
        #expect(result.stdout.contains("iptables-restore"))
        #expect(result.status == (isRoot ? 0 : 3), "\(result.stdout)")
    }

    @Test(.enabled(if: isRoot, "builds real namespaces; needs root"))
    func doctorFindsTheLeftoversOfACrashedLab() throws {
        let name = uniqueLabName("doctor")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).yaml")
        try fourNodeLab(name).write(to: file, atomically: true, encoding: .utf8)
        defer { _ = try? lab("down", name); try? FileManager.default.removeItem(at: file) }
        try #require(try lab("up", file.path).succeeded)
        try FileManager.default.removeItem(atPath: "/run/lab/\(name)")
        let report = try lab("doctor").stdout
        #expect(report.contains("lab \(name)") && report.contains("no state"), "\(report)")
        #expect(try lab("down", name).succeeded)
        #expect(!(try lab("doctor").stdout.contains("lab \(name)")))
    }
}
