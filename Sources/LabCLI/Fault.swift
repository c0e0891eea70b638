import ArgumentParser
import Foundation
import LabPlan
import LabRuntime
import LabSpec

/// `lab fault …`: faults put into a lab that is up, and taken out again.
struct FaultCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault",
        abstract: "Break a lab that is up on purpose: links down, nodes down, partitions, slow or lossy links.",
        discussion: """
        A fault changes the running lab's kernel objects (links, qdiscs, firewall rules in the \
        lab's own namespaces) and is recorded in the lab's state: `lab status` and `lab fault \
        list` show it, `lab fault clear` takes it out, and `lab down` removes it with the lab. \
        The same fault given again replaces the first (it is never stacked). With --for the lab's \
        supervisor reverts the fault by itself.

          lab fault down pod/web-1             web-1's link down (both veth ends)
          lab fault down node/node-2           node-2 off the network; 40 s later
                                               (Kubernetes' grace period) its pods
                                               leave the services' endpoints
          lab fault down node/node-2 --not-ready-after 0
          lab fault up node/node-2             links, routes, endpoints back
          lab fault partition rack-1 rack-2    no forwarding between two networks
          lab fault impair pod/web-1 --delay 50ms --loss 5%
          lab fault impair network/wan --rate 1mbit --for 30s
          lab fault list                       what is in force, until when
          lab fault clear                      all back as the file says
          lab fault clear node/node-2          only the faults naming node-2

        Faults survive a `lab up` of a changed file: they are taken out, the change is applied, \
        and those whose targets still exist are put back (`lab up` says which).
        """,
        subcommands: [Down.self, Up.self, Partition.self, Impair.self, List.self, Clear.self]
    )

    /// `--for DURATION`, on every fault.
    struct Lasting: ParsableArguments {
        // `.unconditional`: `--for -2s` is a negative duration to explain, not a missing value.
        @Option(name: .customLong("for"), parsing: .unconditional,
                help: ArgumentHelp("Revert the fault by itself after this long (30s, 500ms, 2m); the lab's supervisor keeps the time.",
                                   valueName: "duration"))
        var duration: String?
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take the link of a pod, node or host down.",
            discussion: """
            Both ends of the target's veth go down (`ip link set … down`, by netlink), so the \
            kernel drops every route and neighbour entry through them: pings fail with "network \
            unreachable" from inside, time out from outside. A node takes its underlay link and \
            the veth of every pod on it down; its processes keep running. After \
            --not-ready-after (default 40s, Kubernetes' node monitor grace period) the node's \
            pods are taken out of every service's endpoints — the kube-proxy rules are resynced \
            in place, as when a pod is removed — until `lab fault up` or `lab fault clear`.

              lab fault down pod/web-1
              lab fault down node/node-2 --not-ready-after 0 --for 1m
            """
        )

        @Argument(help: ArgumentHelp("pod/NAME, node/NAME or host/NAME (a bare name when it is unique).", valueName: "target"))
        var target: String

        @Option(parsing: .unconditional, help: ArgumentHelp("For a node: when its pods leave the services' endpoints (0: at once; default 40s).",
                                   valueName: "duration"))
        var notReadyAfter: String?

        @OptionGroup var lasting: Lasting
        @OptionGroup var lab: LabOption

        func run() throws {
            let fault = try Fault.down(target, notReadyAfter: notReadyAfter, lasting: lasting.duration)
            let record = try FaultCommand.controller(lab).apply(fault)
            var text = "\(record.fault.targets[0]) is down"
            if record.notReady {
                text += "; its pods are out of the services' endpoints"
            } else if let after = record.fault.notReadyAfterMilliseconds {
                text += "; its pods leave the services' endpoints in \(FaultText.duration(after)) unless it comes back up"
            }
            print(text + FaultCommand.until(record))
        }
    }

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bring a pod's, node's or host's link back up (undo `lab fault down`).",
            discussion: """
            Both ends come up, their addresses, routes and neighbour entries are set again, and \
            a node's pods are back in the services' endpoints.

              lab fault up node/node-2
            """
        )

        @Argument(help: ArgumentHelp("The target given to `lab fault down`.", valueName: "target"))
        var target: String

        @OptionGroup var lab: LabOption

        func run() throws {
            let removed = try FaultCommand.controller(lab).up(target)
            print("\(removed.first?.fault.targets.first ?? target) is up")
        }
    }

    struct Partition: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop the fabric forwarding between two networks.",
            discussion: """
            Two drop rules (one each way) on the fabric's forward hook, in an nftables table of \
            their own (inet lab_fault); traffic inside each network, and to every other \
            network, flows as before. `lab fault clear` deletes the table.

              lab fault partition rack-1 rack-2
              lab fault partition rack-1 rack-2 --for 10s
            """
        )

        @Argument(help: ArgumentHelp("Two networks of the lab (`networks:`; the default one is `underlay`).", valueName: "network"))
        var networks: [String] = []

        @OptionGroup var lasting: Lasting
        @OptionGroup var lab: LabOption

        func validate() throws {
            guard networks.count == 2 else {
                throw ValidationError("partition takes two networks (like `lab fault partition rack-1 rack-2`), not \(networks.count)")
            }
        }

        func run() throws {
            let record = try FaultCommand.controller(lab).apply(try Fault.partition(networks[0], networks[1], lasting: lasting.duration))
            print("networks \(record.fault.targets[0]) and \(record.fault.targets[1]) are partitioned" + FaultCommand.until(record))
        }
    }

    struct Impair: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delay, thin out or slow down a link at run time.",
            discussion: """
            The values and their checks are those of `link:` in a lab file: each direction of \
            the link is impaired (a ping across it sees the delay twice). A network impairs the \
            uplink of every node and host on it. While in force the impairment replaces the \
            file's on the same link (values not given are not kept from the file); `lab fault \
            clear` brings the file's back. Delay and jitter need the kernel's sch_netem; without \
            it `lab status` says so, and rate and loss still apply.

              lab fault impair pod/web-1 --loss 10%
              lab fault impair node/node-1 --delay 20ms --jitter 5ms --rate 10mbit
              lab fault impair network/wan --delay 100ms --for 1m
            """
        )

        @Argument(help: ArgumentHelp("pod/NAME, node/NAME, host/NAME or network/NAME.", valueName: "target"))
        var target: String

        @Option(parsing: .unconditional, help: ArgumentHelp("Added to every packet, each direction (20ms, 1.5s).", valueName: "duration"))
        var delay: String?
        @Option(parsing: .unconditional, help: ArgumentHelp("Spread of the delay (5ms); needs --delay.", valueName: "duration"))
        var jitter: String?
        @Option(parsing: .unconditional, help: ArgumentHelp("Packets dropped at random, each direction (1%, 0.5%).", valueName: "percent"))
        var loss: String?
        @Option(parsing: .unconditional, help: ArgumentHelp("The most each direction carries (512kbit, 10mbit, 1gbit).", valueName: "rate"))
        var rate: String?

        @OptionGroup var lasting: Lasting
        @OptionGroup var lab: LabOption

        func run() throws {
            let fault = try Fault.impair(target, delay: delay, jitter: jitter, loss: loss, rate: rate, lasting: lasting.duration)
            let controller = try FaultCommand.controller(lab)
            let record = try controller.apply(fault)
            print("\(record.fault.targets[0]) is impaired: \(record.fault.impairment?.summary ?? "")" + FaultCommand.until(record))
            // A delay this kernel cannot give is said, as `lab up` says it for the file's.
            if record.fault.impairment?.delays == true, let topology = try? LabController.topology(of: controller.lab) {
                var impaired = FaultPlan.withImpairments(topology, FaultSet([record]))
                impaired.impairments = impaired.impairments?.filter { $0.object == record.fault.targets[0] }
                if let warning = ImpairmentReport.upWarning(impaired) { ErrorReporting.printError("lab: \(warning)") }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the faults in force.")

        @Option(name: .shortAndLong, help: "text or json.")
        var output: OutputFormat = .text

        @OptionGroup var lab: LabOption

        func run() throws {
            let controller = try FaultCommand.controller(lab)
            let status = try LabStatus.read(lab: controller.lab)
            switch output {
            case .json:
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(status.faults), as: UTF8.self))
            case .text:
                if status.faults.isEmpty {
                    print("no fault is in force in lab \(controller.lab)")
                } else {
                    FaultCommand.printFaults(status.faults)
                }
            }
        }
    }

    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take faults out: all of them, or those naming one target.",
            discussion: """
            Links come back up with their routes, impairments are the file's again, partitions \
            are lifted and endpoints restored.

              lab fault clear
              lab fault clear pod/web-1
            """
        )

        @Argument(help: ArgumentHelp("Only the faults naming this pod, node, host or network.", valueName: "target"))
        var target: String?

        @OptionGroup var lab: LabOption

        func run() throws {
            let controller = try FaultCommand.controller(lab)
            let removed = try controller.clear(target: target)
            if removed.isEmpty {
                print("no fault was in force in lab \(controller.lab)")
            } else {
                print("cleared: " + removed.map(\.fault.key).joined(separator: "; "))
            }
        }
    }

    /// The controller of the lab meant; a lab that is not up is bad usage here, as any other
    /// target that does not exist.
    static func controller(_ option: LabOption) throws -> FaultController {
        do {
            return FaultController(lab: try option.resolve())
        } catch let error as LookupError {
            throw FaultInputError("\(error)")
        }
    }

    /// ` for 2s (the supervisor reverts it)`, or nothing.
    static func until(_ record: FaultRecord) -> String {
        guard let duration = record.fault.durationMilliseconds else { return "" }
        return " for \(FaultText.duration(duration)) (the supervisor reverts it)"
    }

    /// FAULT, SETTINGS, SINCE, UNTIL, as `lab status` and `lab fault list` show them.
    static func printFaults(_ faults: [LabStatus.FaultStatus]) {
        let now = Date().timeIntervalSince1970
        func ago(_ time: Double) -> String { "\(Int((now - time).rounded()))s ago" }
        func ahead(_ time: Double) -> String { "in \(max(0, Int((time - now).rounded(.up))))s" }
        printTable(header: ["FAULT", "SETTINGS", "SINCE", "REVERTED", "ENDPOINTS"],
                   rows: faults.map { fault in
                       let endpoints = fault.notReady ? "removed (not ready)"
                           : fault.notReadyAt.map { "removed \(ahead($0))" } ?? "-"
                       return [fault.fault, fault.settings.isEmpty ? "-" : fault.settings, ago(fault.since),
                               fault.expires.map(ahead) ?? "by lab fault clear", endpoints]
                   })
    }
}
