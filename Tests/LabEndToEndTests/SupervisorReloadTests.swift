import Foundation
import LabAddress
import LabKernel
import LabPlan
import LabSpec
@testable import LabRuntime
import Testing

/// A lab for reloads: `keep` stays as it is, `gone` is removed, `changed` gets a new env, and
/// `client` (no containers) is where curl runs from.
func reloadLab(_ name: String) -> String {
    """
    name: \(name)
    nodes: [{name: node-1}]
    pods:
      - name: keep
        node: node-1
        containers:
          - {name: agent, agent: {http: [8080]}}
          - {name: sidecar, command: [sleep, infinity]}
      - name: gone
        node: node-1
        containers:
          - {name: agent, agent: {http: [8080], tcp: [9000], udp: [9001]}}
          - {name: sleeper, command: [sleep, infinity]}
      - name: changed
        node: node-1
        containers:
          - {name: sleeper, command: [sleep, infinity], env: {VERSION: "1"}}
      - {name: client, node: node-1}
    """
}

/// The supervisor's report, read the way `lab status` reads it.
func report(_ lab: String) throws -> SupervisorReport {
    try #require(LabState(lab: lab).supervisorReport(), "no containers.json")
}

func pid(_ report: SupervisorReport, _ pod: String, _ container: String) -> Int32? {
    report.containers.first { $0.pod == pod && $0.container == container }?.pid
}

func status(_ report: SupervisorReport, _ pod: String, _ container: String) -> ContainerStatus? {
    report.containers.first { $0.pod == pod && $0.container == container }
}

/// Rewrites `topology.json` as a reconciling `lab up` does before it calls `reload`.
func rewriteTopology(_ lab: String, _ change: (inout Topology) throws -> Void) throws {
    let state = LabState(lab: lab)
    var topology = try state.topology()
    try change(&topology)
    try state.saveTopology(topology)
}

/// The TCP and UDP sockets inside a namespace that a process holds open (`ss -p` names their
/// owner): listeners and live connections. A connection the server has closed may linger a
/// while in FIN-WAIT or TIME-WAIT, owned by no one and holding nothing alive.
func sockets(in namespace: String) throws -> String {
    let lines = try run(["ip", "netns", "exec", namespace, "ss", "-tuanpH"]).stdout.split(separator: "\n")
    return lines.filter { $0.contains("users:(") }.joined(separator: "\n")
}

func curl(from namespace: String, _ url: String) throws -> String {
    try run(["ip", "netns", "exec", namespace, "curl", "-s", "--max-time", "3", url]).stdout
}

/// A TCP connection from inside a namespace, left open: its socket belongs to that namespace.
func openConnection(in namespace: String, to address: String, port: UInt16) throws -> Int32 {
    let handle = try NetworkNamespace.open(namespace)
    let fd = try handle.perform { () -> Int32 in
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var peer = sockaddr_in()
        peer.sin_family = sa_family_t(AF_INET)
        peer.sin_port = port.bigEndian
        inet_pton(AF_INET, address, &peer.sin_addr)
        let status = withUnsafePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if status != 0 { close(fd); return -1 }
        return fd
    }
    guard fd >= 0 else { throw ConnectFailed(address: address, port: port) }
    return fd
}

struct ConnectFailed: Error {
    var address: String
    var port: UInt16
}

@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct SupervisorReloadTests {
    @Test func reloadKeepsUnchangedStopsRemovedAndStartsNewContainers() throws {
        let name = uniqueLabName("reload")
        try withLab(reloadLab(name), name: name) { _ in
            let state = LabState(lab: name)
            let before = try report(name)
            let supervisor = before.supervisorPID
            let sidecar = try #require(pid(before, "keep", "sidecar"))
            let goneSleeper = try #require(pid(before, "gone", "sleeper"))
            let oldChanged = try #require(pid(before, "changed", "sleeper"))
            let topology = try state.topology()
            let gone = try #require(topology.pod(named: "gone"))
            let keep = try #require(topology.pod(named: "keep"))
            let client = try #require(topology.pod(named: "client")).netns
            #expect(try curl(from: client, "http://\(gone.ip):8080/hostname") == "gone")
            #expect(!(try sockets(in: gone.netns)).isEmpty)
            // An idle TCP connection to the pod that goes: the server's end of it lives in that
            // pod's namespace and must be closed with the listener.
            // Opened by this process inside the client's namespace, not by a client program:
            // a child of the test runner inherits its blocked signals and may never end.
            let idle = try openConnection(in: client, to: "\(gone.ip)", port: 9000)
            defer { close(idle) }
            var connected = false
            for _ in 0..<50 where !connected {
                connected = try sockets(in: gone.netns).contains("ESTAB")
                if !connected { usleep(50_000) }
            }
            #expect(connected, "the idle connection reached the agent")

            // Phase one of a reconcile: `gone` goes, `changed` changes, `keep` gets a container.
            try rewriteTopology(name) { topology in
                topology.pods.removeAll { $0.name == "gone" }
                let changed = try #require(topology.pods.firstIndex { $0.name == "changed" })
                topology.pods[changed].containers[0].env["VERSION"] = "2"
                let keep = try #require(topology.pods.firstIndex { $0.name == "keep" })
                var extra = topology.pods[keep].containers[0]
                extra.name = "extra"
                extra.agentPorts = [AgentPort(.http, 9090)]
                topology.pods[keep].containers.append(extra)
            }
            let after = try #require(try SupervisorProcess.reload(lab: name, state: state))
            #expect(after.supervisorPID == supervisor, "the same supervisor, reloaded")
            #expect(after.generation == before.generation + 1)
            #expect(pid(after, "keep", "sidecar") == sidecar, "an unchanged container keeps its pid")
            #expect(isRunning(Int(sidecar)))
            #expect(status(after, "keep", "agent")?.state == .running)
            #expect(after.containers.allSatisfy { $0.pod != "gone" })
            #expect(!isRunning(Int(goneSleeper)), "the removed pod's process is gone")
            let newChanged = try #require(pid(after, "changed", "sleeper"))
            #expect(newChanged != oldChanged)
            #expect(!isRunning(Int(oldChanged)))
            #expect(status(after, "changed", "sleeper")?.restarts == 0, "a changed container starts anew")
            let environment = try String(contentsOfFile: "/proc/\(newChanged)/environ", encoding: .utf8)
            #expect(environment.contains("VERSION=2"))

            // Nothing of the supervisor is left in the removed pod's namespace…
            let left = try sockets(in: gone.netns)
            #expect(left == "", "listeners and connections closed")
            #expect(try run(["ip", "netns", "pids", gone.netns]).stdout == "")
            // …so deleting it frees it at once, and its veth pair with it (a socket left open
            // would keep the namespace, and so the node's end of the veth, alive).
            let node = try #require(topology.node(named: "node-1")).netns
            let vethShown = try run(["ip", "-n", node, "link", "show", gone.veth.name])
            #expect(vethShown.succeeded)
            try #require(try run(["ip", "netns", "del", gone.netns]).succeeded)
            var freed = false
            for _ in 0..<60 where !freed {
                freed = !(try run(["ip", "-n", node, "link", "show", gone.veth.name]).succeeded)
                if !freed { usleep(50_000) }
            }
            #expect(freed, "the deleted pod's namespace lingers")

            // The new agent answers from another pod; the kept one still does.
            #expect(try curl(from: client, "http://\(keep.ip):9090/hostname") == "keep")
            #expect(try curl(from: client, "http://\(keep.ip):8080/hostname") == "keep")

            // A reload with nothing changed changes nothing.
            let again = try #require(try SupervisorProcess.reload(lab: name, state: state))
            #expect(again.generation == after.generation + 1)
            #expect(pid(again, "keep", "sidecar") == sidecar)
            #expect(pid(again, "changed", "sleeper") == newChanged)
        }
    }

    @Test func aPodWhoseNamespaceIsMissingFailsAndStartsOnTheNextReload() throws {
        let name = uniqueLabName("reloadns")
        try withLab(reloadLab(name), name: name) { _ in
            let state = LabState(lab: name)
            let before = try report(name)
            let sidecar = try #require(pid(before, "keep", "sidecar"))
            let fresh = "lab.\(name).pod.fresh"
            defer {
                _ = try? run(["ip", "netns", "del", fresh])
                _ = try? FileManager.default.removeItem(atPath: "/etc/netns/\(fresh)")
            }
            // Phase two of a reconcile before its namespace exists: reported, not fatal.
            try rewriteTopology(name) { topology in
                var pod = try #require(topology.pod(named: "keep"))
                pod.name = "fresh"
                pod.netns = fresh
                topology.pods.append(pod)
            }
            let missing = try #require(try SupervisorProcess.reload(lab: name, state: state))
            #expect(missing.supervisorPID == before.supervisorPID)
            #expect(status(missing, "fresh", "agent")?.state == .exited)
            #expect(status(missing, "fresh", "agent")?.error != nil)
            #expect(status(missing, "fresh", "sidecar")?.state == .restarting)
            #expect(pid(missing, "keep", "sidecar") == sidecar)

            try #require(try run(["ip", "netns", "add", fresh]).succeeded)
            try #require(try run(["ip", "-n", fresh, "link", "set", "lo", "up"]).succeeded)
            // The pod's resolv.conf, which `lab up` writes before it reloads the supervisor.
            try FileManager.default.createDirectory(atPath: "/etc/netns/\(fresh)", withIntermediateDirectories: true)
            try "nameserver 10.96.0.10\n".write(toFile: "/etc/netns/\(fresh)/resolv.conf", atomically: false, encoding: .utf8)
            let started = try #require(try SupervisorProcess.reload(lab: name, state: state))
            #expect(status(started, "fresh", "agent")?.state == .running)
            #expect(status(started, "fresh", "sidecar")?.state == .running)
            let freshSidecar = try #require(pid(started, "fresh", "sidecar"))
            let pids = try run(["ip", "netns", "pids", fresh]).stdout.split(separator: "\n").compactMap { Int32($0) }
            #expect(pids.contains(freshSidecar), "started inside the pod's namespace")
            #expect(try curl(from: fresh, "http://127.0.0.1:8080/hostname") == "fresh")
            #expect(pid(started, "keep", "sidecar") == sidecar)
        }
    }

    @Test func reloadWithoutContainersStopsTheSupervisor() throws {
        let name = uniqueLabName("reloadnone")
        try withLab(reloadLab(name), name: name) { _ in
            let state = LabState(lab: name)
            let before = try report(name)
            let pids = before.containers.compactMap(\.pid)
            try rewriteTopology(name) { topology in
                for index in topology.pods.indices { topology.pods[index].containers = [] }
            }
            #expect(try SupervisorProcess.reload(lab: name, state: state) == nil)
            #expect(!isRunning(Int(before.supervisorPID)))
            for pid in pids { #expect(!isRunning(Int(pid)), "process \(pid) outlived the supervisor") }
            #expect(SupervisorProcess.running(lab: name, state: state) == nil)
            #expect(!FileManager.default.fileExists(atPath: state.supervisorPIDPath))
            let topology = try state.topology()
            for pod in topology.pods { #expect(try sockets(in: pod.netns) == "", "sockets left in \(pod.name)") }
            // Nothing to run and no supervisor: nothing to do.
            #expect(try SupervisorProcess.reload(lab: name, state: state) == nil)
        }
    }
}

/// The rules of a reload, without a kernel.
struct ContainerChangesTests {
    func topology(_ yaml: String) throws -> Topology {
        try LabController.prepare(text: yaml, file: "test.yaml").topology
    }

    func running(_ topology: Topology) -> [String: (pod: PodTopology, container: ContainerTopology)] {
        var running: [String: (pod: PodTopology, container: ContainerTopology)] = [:]
        for pod in topology.pods {
            for container in pod.containers { running["\(pod.name)/\(container.name)"] = (pod, container) }
        }
        return running
    }

    @Test func sameTopologyKeepsEverything() throws {
        let lab = try topology(reloadLab("t"))
        let changes = ContainerChanges.between(running: running(lab), desired: lab, replacedNamespaces: [])
        #expect(changes.isEmpty)
        #expect(changes.kept == ["keep/agent", "keep/sidecar", "gone/agent", "gone/sleeper", "changed/sleeper", "coredns/coredns"])
    }

    @Test func removedChangedAndNewContainers() throws {
        let old = try topology(reloadLab("t"))
        var new = old
        new.pods.removeAll { $0.name == "gone" }
        new.pods[1].containers[0].env["VERSION"] = "2"
        var extra = new.pods[0].containers[1]
        extra.name = "extra"
        new.pods[0].containers.append(extra)
        let changes = ContainerChanges.between(running: running(old), desired: new, replacedNamespaces: [])
        #expect(changes.kept == ["keep/agent", "keep/sidecar", "coredns/coredns"])
        #expect(changes.started == ["keep/extra", "changed/sleeper"])
        #expect(changes.stopped == ["changed/sleeper", "gone/agent", "gone/sleeper"])
    }

    @Test func labelsDoNotRestartButAddressesAndNamespacesDo() throws {
        let old = try topology(reloadLab("t"))
        var relabelled = old
        relabelled.pods[0].labels["tier"] = "front"
        #expect(ContainerChanges.between(running: running(old), desired: relabelled, replacedNamespaces: []).isEmpty)

        var readdressed = old
        readdressed.pods[0].ip = try #require(IPv4Address("10.244.1.200"))
        let moved = ContainerChanges.between(running: running(old), desired: readdressed, replacedNamespaces: [])
        #expect(moved.started == ["keep/agent", "keep/sidecar"])

        let replaced = ContainerChanges.between(running: running(old), desired: old, replacedNamespaces: [old.pods[2].netns])
        #expect(replaced.stopped == ["changed/sleeper"])
        #expect(replaced.started == ["changed/sleeper"])
    }
}
