import Foundation
import LabPlan
import LabRuntime
import Testing

/// A lab of `pods` pods spread over three nodes on one network; with `containers`, each pod runs
/// an agent and a `sleep` sidecar, so `up` also starts a supervisor.
func crowdLab(_ name: String, pods: Int, containers: Bool) -> String {
    var text = "name: \(name)\nnodes: [{name: n1}, {name: n2}, {name: n3}]\npods:\n"
    for index in 0..<pods {
        let processes = containers ? ", containers: [{name: agent, agent: {http: [8080]}}, {name: sidecar, command: [sleep, infinity]}]" : ""
        text += "  - {name: p\(index), node: n\(index % 3 + 1)\(processes)}\n"
    }
    return text
}

/// A small lab with two networks, a service and an agent, so its plan holds every kind of
/// operation of a routed lab, firewall loads and permanent neighbour entries included. The
/// neighbour mode is named: under `auto` the test's plan and `lab up`'s could differ when the
/// host's shared table changes in between, and the operation indexes with them.
func faultLab(_ name: String) -> String {
    """
    name: \(name)
    cluster: {neighbours: static}
    networks:
      - {name: rack-1, cidr: 192.168.1.0/24}
      - {name: rack-2, cidr: 172.16.0.0/16}
    nodes:
      - {name: node-1, network: rack-1}
      - {name: node-2, network: rack-1}
      - {name: node-3, network: rack-2}
    pods:
      - {name: a, node: node-1}
      - {name: b, node: node-2, labels: {app: web}, containers: [{name: agent, agent: {http: [8080]}}]}
      - {name: c, node: node-3}
    services:
      - {name: web, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
    """
}

/// Pod pairs worth pinging in a `crowdLab`: same node, neighbouring nodes, first to last.
func samplePairs(_ topology: Topology) -> [(PodTopology, PodTopology)] {
    let pods = topology.pods
    guard pods.count >= 4 else { return [] }
    return [(pods[0], pods[3]), (pods[0], pods[1]), (pods[1], pods[2]), (pods[pods.count - 1], pods[0])]
}

/// What ran in the lab: its supervisors and every process in its namespaces.
func labProcesses(_ lab: String) throws -> [ProcessIdentity] {
    (supervisors(of: lab) + (try processesInside(lab))).compactMap(ProcessIdentity.init(pid:))
}

/// Record before create (docs/architecture.md, "Invariants"): an `up` that dies at any point —
/// SIGKILL, SIGTERM, a kernel error — leaves a host from which `down` removes everything and a new
/// `up` converges.
@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct FaultInjectionTests {
    /// SIGKILL gives `lab` no chance to clean up: what it leaves must be found from the journal
    /// and the name prefix. Kills land anywhere in a normal `up` (measured first), alternately
    /// followed by `down` (nothing left, no process) and by a new `up` (converges: exit 0, every
    /// namespace, pods ping, one supervisor with every container running).
    @Test(arguments: [false, true])
    func sigkillAtRandomPointsOfUp(containers: Bool) throws {
        let name = uniqueLabName(containers ? "kill9c" : "kill9")
        let text = crowdLab(name, pods: 36, containers: containers)
        let path = try writeLabFile(text, name: name)
        defer { _ = try? lab("down", name); try? FileManager.default.removeItem(atPath: path) }
        let topology = try LabController.prepare(text: text, file: path).topology
        let before = try rootNamespaceSnapshot()

        // One normal up, timed from outside as the kills will be.
        let started = Date()
        let normal = try lab("up", path)
        let duration = Date().timeIntervalSince(started)
        try #require(normal.succeeded, "\(normal.stderr)")
        try #require(try lab("down", name).succeeded)
        try expectNothingLeft(of: name)

        // Each kill falls at a random point of its own quarter of the up, the quarters in a
        // random order: the kills cover the whole up, whatever its phases take.
        let iterations = 4
        for (iteration, quarter) in (0..<iterations).shuffled().enumerated() {
            let delay = Double.random(in: Double(quarter) * duration / Double(iterations)..<Double(quarter + 1) * duration / Double(iterations))
            let context = "iteration \(iteration), SIGKILL after \(String(format: "%.3f", delay)) s of a \(String(format: "%.3f", duration)) s up"
            let up = try BackgroundLab(["up", path])
            usleep(UInt32(delay * 1_000_000))
            up.signal(SIGKILL)
            let killed = up.wait()
            // A kill that came after the last instruction finds the lab complete: also fine.
            #expect(killed.status == 128 + SIGKILL || killed.status == 0, "\(context): \(killed.stderr)")
            let processes = try labProcesses(name)
            print("FaultInjectionTests: \(context): exit \(killed.status), left \(namespaceFiles(of: name).count) namespaces, \(supervisors(of: name).count) supervisors")

            if iteration % 2 == 0 {
                let down = try lab("down", name)
                #expect(down.succeeded, "\(context): down: \(down.stderr)")
                try expectNothingLeft(of: name, processes: processes)
            } else {
                let again = try lab("up", path)
                #expect(again.succeeded, "\(context): up after the kill: \(again.stderr)")
                #expect(try namespaces(of: name).sorted() == topology.allNetns.sorted(), "\(context)")
                for (source, target) in samplePairs(topology) {
                    #expect(try ping(from: source.netns, to: "\(target.ip)"), "\(context): \(source.name) → \(target.name)")
                }
                if containers {
                    #expect(supervisors(of: name).count == 1, "\(context): supervisors \(supervisors(of: name))")
                    let states = try containerStates(name)
                    #expect(states.count == 72 + 1, "\(context): 36 pods' two each, and the DNS pod's")
                    #expect(states.allSatisfy { $0["state"] as? String == "running" }, "\(context)")
                }
                let converged = try labProcesses(name)
                let down = try lab("down", name)
                #expect(down.succeeded, "\(context): down: \(down.stderr)")
                try expectNothingLeft(of: name, processes: processes + converged)
            }
        }
        #expect(try rootNamespaceSnapshot() == before, "the root namespace changed")
    }

    /// `kill PID` in the middle of the apply: rolled back, exit 143 (128 + SIGTERM).
    @Test func sigtermDuringUpRollsBack() throws {
        let name = uniqueLabName("sigterm")
        let path = try writeLabFile(crowdLab(name, pods: 250, containers: false), name: name)
        defer { _ = try? lab("down", name); try? FileManager.default.removeItem(atPath: path) }
        let up = try BackgroundLab(["up", path])
        #expect(eventually(within: 20) { namespaceFiles(of: name).count >= 3 || !up.process.isRunning })
        up.signal(SIGTERM)
        let result = up.wait()
        #expect(result.status == 143, "\(result.stderr)")
        #expect(result.stderr.contains("interrupted by SIGTERM"), "\(result.stderr)")
        try expectNothingLeft(of: name)
        #expect(try lab("up", path).succeeded, "a next up after the interrupted one")
        #expect(try lab("down", name).succeeded)
        try expectNothingLeft(of: name)
    }

    /// "Interrupted at any point" includes after the apply, while `up` waits
    /// for the supervisor to start the containers, SIGTERM rolls everything back (exit 143).
    @Test func sigtermWhileContainersStartIsNotIgnored() throws {
        let name = uniqueLabName("sigtermc")
        let path = try writeLabFile(crowdLab(name, pods: 12, containers: true), name: name)
        defer { _ = try? lab("down", name); try? FileManager.default.removeItem(atPath: path) }
        let up = try BackgroundLab(["up", path])
        // The supervisor writes its pid file first thing; `up` is then waiting for it.
        let pidFile = "/run/lab/\(name)/supervisor.pid"
        #expect(eventually(within: 20) { FileManager.default.fileExists(atPath: pidFile) || !up.process.isRunning })
        up.signal(SIGTERM)
        let result = up.wait()
        let left = try namespaces(of: name)
        #expect(result.status == 143, "exit \(result.status): \(result.stdout)")
        #expect(left.isEmpty, "the lab stayed up")
        #expect(try lab("down", name).succeeded)
        try expectNothingLeft(of: name)
    }

    /// Whether operation `index` is a sysctl of the same namespace as the one before: the
    /// appliers write such a run in one go.
    static func isInsideSysctlRun(_ index: Int, of operations: [KernelOperation]) -> Bool {
        guard index > 0, case .setSysctl(let namespace, _, _) = operations[index],
              case .setSysctl(let previous, _, _) = operations[index - 1] else { return false }
        return namespace == previous
    }

    /// A request the kernel refuses, before the first, second, a middle and the last operation
    /// and inside a run of sysctls (`LAB_INJECT_FAULT=N`): one error naming the operation and
    /// its errno, exit 1, everything rolled back (no namespace, state or lock file), and a next
    /// `up` builds the lab.
    @Test func injectedKernelErrorIsReportedAndRolledBack() throws {
        let name = uniqueLabName("fault")
        let text = faultLab(name)
        let path = try writeLabFile(text, name: name)
        defer { _ = try? lab("down", name); try? FileManager.default.removeItem(atPath: path) }
        let prepared = try LabController.prepare(text: text, file: path)
        let operations = prepared.plan.operations
        try #require(operations.count > 20)
        let insideSysctls = try #require(operations.indices.first { Self.isInsideSysctlRun($0, of: operations) })
        let before = try rootNamespaceSnapshot()

        for index in [0, 1, insideSysctls, operations.count / 2, operations.count - 1] {
            let context = "LAB_INJECT_FAULT=\(index) of \(operations.count) (\(operations[index]))"
            let failed = try lab("up", path, environment: environment(adding: ["LAB_INJECT_FAULT": "\(index)"]))
            #expect(failed.status == 1, "\(context): exit \(failed.status)")
            // (The one-time notice of loading br_netfilter is not an error.)
            let lines = failed.stderr.split(separator: "\n").filter { !$0.contains("loading the br_netfilter") }
            #expect(lines.count == 1, "\(context): one error, not \(lines)")
            let line = String(lines.first ?? "")
            #expect(line.hasPrefix("lab: "), "\(context): \(line)")
            // The errno by name, as `KernelError` prints it: "… (ERANGE)".
            #expect(line.range(of: #"\(E[A-Z0-9]+\)"#, options: .regularExpression) != nil, "\(context): \(line)")
            if index > 0 {
                // The fabric exists from operation 1 on: the refused request is really sent.
                #expect(line.contains("add bridge \"lab-injected-fault-name\""), "\(context): \(line)")
            }
            try expectNothingLeft(of: name)

            let up = try lab("up", path)
            #expect(up.succeeded, "\(context): the next up: \(up.stderr)")
            #expect(try namespaces(of: name).count == prepared.topology.allNetns.count, "\(context)")
            #expect(try ping(from: "lab.\(name).pod.a", to: "\(prepared.topology.pod(named: "c")!.ip)"), "\(context)")
            #expect(try lab("down", name).succeeded)
            try expectNothingLeft(of: name)
        }
        #expect(try rootNamespaceSnapshot() == before, "the root namespace changed")
    }

    /// The same inside a run of sysctls with the one-request-at-a-time applier
    /// (`LAB_APPLY_UNBATCHED=1`, also what a reconcile uses), which writes a run of sysctls in
    /// one go: the run is cut at N, so the fault still fires there.
    @Test func injectedFaultInsideASysctlRunFiresWhenUnbatched() throws {
        let name = uniqueLabName("faultsys")
        let text = faultLab(name)
        let path = try writeLabFile(text, name: name)
        defer { _ = try? lab("down", name); try? FileManager.default.removeItem(atPath: path) }
        let operations = try LabController.prepare(text: text, file: path).plan.operations
        let index = try #require(operations.indices.first { Self.isInsideSysctlRun($0, of: operations) })
        let result = try lab("up", path, environment: environment(adding: ["LAB_INJECT_FAULT": "\(index)", "LAB_APPLY_UNBATCHED": "1"]))
        #expect(result.status == 1, "LAB_INJECT_FAULT=\(index) (\(operations[index])): exit \(result.status)")
        #expect(try lab("down", name).succeeded)
        try expectNothingLeft(of: name)
    }
}
