import ArgumentParser
import Foundation
import LabPlan
import LabRuntime
import LabSpec

struct Up: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a lab from a lab file (idempotent: re-running converges to the file).",
        discussion: """
        Validates the file (exit 2 and nothing touched if it is wrong), settles every name and \
        address, then creates the namespaces, links, addresses, routes and sysctls over netlink. \
        Running it again with the same file does nothing. With a changed file only the \
        difference is applied, as kube-proxy and a CNI plugin would: added pods, nodes and \
        services are created, removed ones deleted, changed ones replaced, and untouched pods keep \
        their interfaces, addresses and processes; allocated addresses stay where they were. \
        Service rules are synced partially (other chains keep their counters) and UDP flows to \
        removed endpoints are flushed from conntrack. A lab that is damaged or half-built is \
        rebuilt from scratch.

        The namespaces of a lab share the host's one neighbour (ARP) table; with \
        cluster.neighbours: auto (the default) a lab whose worst case would not fit comfortably \
        gets permanent neighbour entries instead of ARP (static). The choice and its numbers are \
        printed, and kept while the lab is up.

        Without FILE, ./lab.yaml is used if it exists, else the built-in demo lab (the lab of the \
        article "Tracing the path of network traffic in Kubernetes").

          lab up labs/demo.yaml
          lab up --dry-run labs/demo.yaml > build.sh    # the same work as ip/sysctl commands; no root needed
          lab up --dry-run changed.yaml                  # on a running lab: only the commands that change it
        """
    )

    @Argument(help: "The lab file (default: ./lab.yaml, else the built-in demo).", completion: .file(extensions: ["yaml", "yml"]))
    var file: String?

    @Flag(help: "Print the plan as a bash script of ip/sysctl commands and change nothing (for a running lab: only the difference).")
    var dryRun = false

    @Flag(help: "Print how long each phase of the apply took.")
    var timings = false

    @Flag(name: .shortAndLong, help: "Print only errors.")
    var quiet = false

    func run() throws {
        let source = try LabSource.resolve(file)
        if dryRun {
            let dryRun = try LabController.dryRun(text: source.text, file: source.name)
            report(warnings: dryRun.warnings)
            var notes = ["neighbours: \(dryRun.neighbours.explanation)"]
            let netem = dryRun.plan.operations.contains { if case .replaceQdisc(_, _, .netem) = $0 { true } else { false } }
            if netem { notes.append("delay: netem; where the kernel has no sch_netem (asked as root), lab up plans the delay line (NFQUEUE rules, served by the supervisor) instead") }
            if dryRun.plan.operations.contains(where: { if case .loadFirewall(_, _, let rules) = $0 { rules.contains("-j NFQUEUE") } else { false } }) {
                notes.append("delay: delay line (NFQUEUE): the lab's supervisor holds each queued packet for its delay")
            }
            print(ShellScript.render(dryRun.plan, notes: notes), terminator: "")
            return
        }
        Interruption.deferSignals()
        let progress = quiet ? nil : ProgressLine.start(verb: "up")
        let upped = Result {
            try LabController.up(text: source.text, file: source.name) {
                let notice = { ErrorReporting.printError("lab: another lab up/down of this lab is running; waiting for it") }
                if let progress { progress.interject(notice) } else { notice() }
            }
        }
        progress?.stop()
        let result = try upped.get()
        report(warnings: result.warnings)
        if quiet { return }
        printSummary(result, source: source)
    }

    private func report(warnings: [LabFileError]) {
        for warning in warnings { ErrorReporting.printError(warning.description) }
    }

    private func printSummary(_ result: LabController.UpResult, source: LabSource) {
        let topology = result.topology
        let counts = "\(topology.nodes.count) nodes, \(topology.pods.count) pods, \(topology.hosts.count) hosts, \(topology.networks.count) networks"
        if result.unchanged {
            print("lab \(topology.lab) is up to date (\(counts)); nothing to do")
            if let neighbours = result.neighbours { print("  neighbours: \(neighbours.explanation)") }
            return
        }
        if result.replaced { print("lab \(topology.lab): removed the previous version first") }
        if result.changedInPlace {
            print("lab \(topology.lab) changed in place from \(source.name) in \(String(format: "%.2f", result.seconds)) s: \(result.plan.changeSummary); now \(counts)")
        } else {
            print("lab \(topology.lab) is up from \(source.name) in \(String(format: "%.2f", result.seconds)) s: \(counts), \(topology.mode.rawValue) network")
        }
        if let neighbours = result.neighbours { print("  neighbours: \(neighbours.explanation)") }
        for impairment in ImpairmentReport.status(topology) {
            print("  impaired: \(impairment.object) \(impairment.settings) (\(impairment.mechanism))")
        }
        if timings {
            for phase in result.timings.phases {
                print("  \(phase.name.padding(toLength: 14, withPad: " ", startingAt: 0)) \(String(format: "%4d", phase.count))  \(String(format: "%8.1f", phase.seconds * 1000)) ms")
            }
        }
        if result.containerCount > 0 {
            print("  \(result.containerCount - result.troubledContainers.count) of \(result.containerCount) containers running; the supervisor serves every agent")
        }
        for container in result.troubledContainers {
            ErrorReporting.printError("warning: container \(container.container) of pod \(container.pod) is \(container.summary)")
            let log = LabState(lab: topology.lab).logPath(pod: container.pod, container: container.container)
            if let text = try? String(contentsOfFile: log, encoding: .utf8) {
                for line in text.split(separator: "\n").suffix(5) { ErrorReporting.printError("  | \(line)") }
            }
            ErrorReporting.printError("  see: lab logs \(container.pod) -c \(container.container); lab status")
        }
        let own = topology.workloadPods
        if let pod = own.first, let other = own.last, pod.name != other.name {
            print("  try: lab exec \(pod.name) -- ping -c1 \(other.ip)     lab status     lab down \(topology.lab)")
        } else {
            print("  try: lab status     lab down \(topology.lab)")
        }
    }
}

/// Where the lab file text comes from: an explicit path, ./lab.yaml, or the built-in demo.
struct LabSource {
    var name: String
    var text: String

    static func resolve(_ path: String?) throws -> LabSource {
        let chosen = path ?? (FileManager.default.fileExists(atPath: "lab.yaml") ? "lab.yaml" : nil)
        guard let chosen else { return LabSource(name: "<built-in demo>", text: DemoLab.text) }
        return LabSource(name: chosen, text: try LabFileLoader.read(path: chosen))
    }
}
