import Foundation
import Testing

/// Every file in `labs/` is a fixture: it must build, and every pod in it must reach every other
/// pod; one with scenarios must pass `lab verify`. Each is brought up under a unique name so a lab the user has up is never touched.
@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct ExampleLabsTests {
    static let files = (try? FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("labs").path))?
        .filter { $0.hasSuffix(".yaml") }.sorted() ?? []

    @Test(arguments: files)
    func exampleLabBuildsAndEveryPodReachesEveryPod(_ file: String) throws {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("labs/\(file)"), encoding: .utf8)
        let name = uniqueLabName(String(file.replacingOccurrences(of: ".yaml", with: "").prefix(6)))
        let renamed = text.replacingOccurrences(of: #"(?m)^name: .*$"#, with: "name: \(name)", options: .regularExpression)
        try withLab(renamed, name: name) { _ in
            let status = try lab("status", name, "--output", "json")
            let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
            let pods = try #require(json?["pods"] as? [[String: Any]]).map { ($0["name"] as! String, $0["ip"] as! String) }
            #expect(!pods.isEmpty)
            for (source, _) in pods {
                for (target, address) in pods where target != source {
                    #expect(try ping(from: "lab.\(name).pod.\(source)", to: address), "\(file): \(source) → \(target)")
                }
            }
            // A lab with scenarios is verified with them: each must pass and leave no fault.
            if text.contains("\nscenarios:") {
                let verify = try lab("verify", name)
                #expect(verify.succeeded, "\(file): \(verify.stdout)\(verify.stderr)")
                #expect(!FileManager.default.fileExists(atPath: "/run/lab/\(name)/faults.json"), "\(file): faults left in force")
            }
        }
    }
}
