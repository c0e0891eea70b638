import ArgumentParser
import Foundation
import LabPlan
import LabRuntime

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a lab's nodes, pods, hosts and services with their addresses.",
        discussion: "Exit 1 when an object of the lab is missing from the kernel (e.g. a namespace deleted by hand)."
    )

    @OptionGroup var lab: LabArgument

    @Option(name: .shortAndLong, help: "text or json.")
    var output: OutputFormat = .text

    func run() throws {
        let status = try LabStatus.read(lab: try lab.resolve())
        switch output {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(status), as: UTF8.self))
        case .text:
            printText(status)
        }
        if !status.healthy { throw ExitCode(1) }
    }

    private func printText(_ status: LabStatus) {
        print("lab \(status.lab): \(status.healthy ? "up" : "DAMAGED (run lab up again to rebuild)"), \(status.network) network, \(status.proxy) proxy, mtu \(status.mtu) (pods \(status.podMTU))")
        print("networks: " + status.networks.joined(separator: "; "))
        print("neighbours: \(status.neighbours)" + (status.neighbourSetting == "auto" ? " (chosen by auto)" : "")
            + (status.permanentNeighbours > 0 ? ", \(NumberText.grouped(status.permanentNeighbours)) permanent entries" : ", resolved with ARP"))
        let rows = (status.nodes + status.pods + status.hosts).map { item in
            [item.kind, item.name, item.ip, item.detail, item.netns, item.present ? "ok" : "MISSING"]
        }
        printTable(header: ["KIND", "NAME", "IP", "WHERE", "NAMESPACE", "STATE"], rows: rows)
        if !status.containers.isEmpty {
            print("")
            printTable(header: ["POD", "CONTAINER", "STATE", "PID"],
                       rows: status.containers.map { container in
                           [container.pod, container.container + (container.isAgent ? " (agent)" : ""), container.summary,
                            container.pid.map(String.init) ?? "-"]
                       })
        }
        if !status.services.isEmpty {
            print("")
            printTable(header: ["SERVICE", "TYPE", "CLUSTER-IP", "PORTS", "ENDPOINTS"],
                       rows: status.services.map { service in
                           ["\(service.namespace)/\(service.name)", service.type, service.clusterIP,
                            service.ports.joined(separator: ","),
                            service.endpoints.isEmpty ? "<none>" : service.endpoints.joined(separator: ", ")]
                       })
        }
        if !status.impairments.isEmpty {
            print("")
            printTable(header: ["IMPAIRED", "LINK", "SETTINGS", "MECHANISM"],
                       rows: status.impairments.map { [$0.object, $0.link, $0.settings, $0.mechanism] })
        }
        if !status.faults.isEmpty {
            print("")
            FaultCommand.printFaults(status.faults)
        }
        if !status.policies.isEmpty {
            print("")
            printTable(header: ["POLICY", "TYPES", "SELECTS"],
                       rows: status.policies.map { policy in
                           ["\(policy.namespace)/\(policy.name)", policy.policyTypes.joined(separator: ","),
                            policy.pods.isEmpty ? "<no pod>" : policy.pods.joined(separator: ", ")]
                       })
            print("")
            printTable(header: ["POD", "INGRESS", "EGRESS"],
                       rows: status.isolation.map { pod in
                           [pod.pod, pod.ingress.isEmpty ? "open" : "isolated by " + pod.ingress.joined(separator: ", "),
                            pod.egress.isEmpty ? "open" : "isolated by " + pod.egress.joined(separator: ", ")]
                       })
        }
    }
}

/// Left-aligned columns, two spaces apart, as kubectl prints them.
func printTable(header: [String], rows: [[String]]) {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    for row in all {
        let cells = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }
        print(cells.joined(separator: "  "))
    }
}
