import ArgumentParser
import Foundation
import LabRuntime

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a lab's probes and report; exit 1 if any fails.",
        discussion: """
        Probes run natively inside lab, in parallel, with sockets opened inside each source \
        namespace (no ping/curl process per probe; `exec` probes run their command). A lab \
        without probes is checked against the Kubernetes network model: every pod reaches every \
        pod and its own node, without NAT where an agent can tell, and every service reaches \
        each of its endpoints.

          lab verify                          the only lab that is up
          lab verify demo --junit report.xml  JUnit XML for CI as well
          lab verify --only 'service'         probes whose name matches a regex
          lab verify --model                  the model check even if the lab has probes
        """
    )

    @Argument(help: "The lab (default: the only lab that is up).")
    var lab: String?

    @Option(name: .shortAndLong, help: "Take the probes from this lab file (its lab must be up) instead of the applied one.")
    var file: String?

    @Flag(help: "Check the Kubernetes network model instead of the lab's probes.")
    var model = false

    @Option(name: .shortAndLong, help: "text or json.")
    var output: OutputFormat = .text

    @Option(help: "Also write the results as JUnit XML to this file.")
    var junit: String?

    @Option(help: "Run only probes whose name matches this regular expression.")
    var only: String?

    @Flag(name: .shortAndLong, help: "Print only failures and the summary.")
    var quiet = false

    @Option(help: "How many probes run at once (default: sized to the machine).")
    var parallel: Int?

    func validate() throws {
        try validateLabName(lab)
        if let parallel, parallel < 1 { throw ValidationError("--parallel must be at least 1") }
        if let only, (try? NSRegularExpression(pattern: only)) == nil { throw ValidationError("--only: \"\(only)\" is not a regular expression") }
    }

    func run() throws {
        var failed = false
        try ErrorReporting.run {
            let source: LabSource
            if let file {
                source = try LabSource.resolve(file)
            } else {
                let name = try LabController.resolveLab(lab)
                guard let text = LabState(lab: name).appliedFile() else {
                    throw RuntimeError.corruptState(lab: name, reason: "no applied lab file; run lab up again")
                }
                source = LabSource(name: "\(name) (applied)", text: text)
            }
            let outcome = try LabVerifier.verify(text: source.text, file: source.name,
                                                 options: LabVerifier.Options(model: model, only: only, parallel: parallel))
            let results = outcome.results
            let name = outcome.lab
            switch output {
            case .json:
                print(ProbeJSONReport.render(results), terminator: "")
            case .text:
                if outcome.modelCheck && !model { print("lab \(name) has no probes: checking the Kubernetes network model") }
                if quiet {
                    for result in results where !result.passed { print(ProbeTextReport.line(result)) }
                    print(ProbeTextReport.summary(results))
                } else {
                    print(ProbeTextReport.render(results), terminator: "")
                }
            }
            if let junit {
                try ProbeJUnitReport.render(results, suite: "lab verify \(name)", seconds: outcome.seconds)
                    .write(toFile: junit, atomically: true, encoding: .utf8)
            }
            failed = results.contains { !$0.passed }
        }
        if failed { throw ExitCode(1) }
    }
}
