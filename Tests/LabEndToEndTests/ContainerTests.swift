import Foundation
import Testing

/// A lab whose pods run processes: agents, a sidecar, a crash loop and a one-shot container.
func containerLab(_ name: String) -> String {
    """
    name: \(name)
    nodes:
      - {name: node-1}
      - {name: node-2}
    pods:
      - name: server
        node: node-1
        containers:
          - {name: agent, agent: {http: [8080], tcp: [9000], udp: [9001]}}
          - {name: sidecar, command: [sleep, infinity], env: {GREETING: hello}}
      - name: client
        node: node-2
        containers:
          - {name: agent, agent: {http: [8080]}}
      - name: crasher
        node: node-2
        containers:
          - {name: loop, command: [sh, -c, "echo boom; exit 3"], restart: on-failure}
          - {name: once, command: [sh, -c, "echo done"], restart: never}
    """
}

/// Alive and not a zombie (a zombie has exited; only its parent has not collected it).
func isRunning(_ pid: Int) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
}

/// Reads `lab status --output json` and returns the container entries.
func containerStates(_ lab: String) throws -> [[String: Any]] {
    let status = try run([labBinary, "status", lab, "--output", "json"])
    let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
    return json?["containers"] as? [[String: Any]] ?? []
}

func containerState(_ lab: String, pod: String, container: String) throws -> [String: Any]? {
    try containerStates(lab).first { $0["pod"] as? String == pod && $0["container"] as? String == container }
}

@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct ContainerTests {
    @Test func agentsAnswerCurlAndNetcatFromOtherPods() throws {
        let name = uniqueLabName("agent")
        try withLab(containerLab(name), name: name) { _ in
            let client = "lab.\(name).pod.client"
            let server = try #require(try containerState(name, pod: "server", container: "agent"))
            #expect(server["state"] as? String == "running")
            let serverIP = "10.244.1.2", clientIP = "10.244.2.2"
            func curl(_ path: String) throws -> String {
                try run(["ip", "netns", "exec", client, "curl", "-s", "--max-time", "3", "http://\(serverIP):8080\(path)"]).stdout
            }
            #expect(try curl("/hostname") == "server")
            #expect(try curl("/") == "server")
            #expect(try curl("/clientip").hasPrefix("\(clientIP):"), "the server saw the client's own pod IP")
            #expect(try curl("/echo?msg=hi") == "hi")
            let missing = try run(["ip", "netns", "exec", client, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                   "--max-time", "3", "http://\(serverIP):8080/nope"]).stdout
            #expect(missing == "404")
            let tcp = try run(["ip", "netns", "exec", client, "sh", "-c", "printf 'one\\n' | nc -w 1 -q 1 \(serverIP) 9000"]).stdout
            #expect(tcp.hasPrefix("server\n"), "greeting: \(tcp)")
            #expect(tcp.contains("one"))
            let udp = try run(["ip", "netns", "exec", client, "sh", "-c", "printf 'ping' | timeout 3 nc -u -w 1 \(serverIP) 9001"]).stdout
            #expect(udp.hasPrefix("server \(clientIP):"), "udp answer: \(udp)")
        }
    }

    @Test func containersShareThePodNamespaceAndItsHostname() throws {
        let name = uniqueLabName("pods")
        try withLab(containerLab(name), name: name) { _ in
            #expect(try lab("exec", "--lab", name, "server", "--", "hostname").stdout == "server\n")
            let local = try lab("exec", "--lab", name, "server", "--", "curl", "-s", "--max-time", "3", "http://127.0.0.1:8080/")
            #expect(local.stdout == "server")
            let env = try lab("exec", "--lab", name, "server", "-c", "sidecar", "--", "sh", "-c", "echo $GREETING")
            #expect(env.stdout == "hello\n")
            let sidecar = try #require(try containerState(name, pod: "server", container: "sidecar"))
            let pid = try #require(sidecar["pid"] as? Int)
            let pids = try run(["ip", "netns", "pids", "lab.\(name).pod.server"]).stdout.split(separator: "\n").compactMap { Int($0) }
            #expect(pids.contains(pid))
            // The sidecar's own UTS namespace, read from outside with an independent tool.
            #expect(try run(["nsenter", "-t", "\(pid)", "-u", "hostname"]).stdout == "server\n")
        }
    }

    @Test func restartPoliciesAndLogs() throws {
        let name = uniqueLabName("restart")
        try withLab(containerLab(name), name: name) { _ in
            // The crash loop backs off from 0.1 s: within two seconds it has restarted a few times.
            var restarts = 0
            for _ in 0..<40 {
                restarts = try containerState(name, pod: "crasher", container: "loop")?["restarts"] as? Int ?? 0
                if restarts >= 3 { break }
                usleep(100_000)
            }
            #expect(restarts >= 3)
            let once = try #require(try containerState(name, pod: "crasher", container: "once"))
            #expect(once["state"] as? String == "exited")
            #expect(once["restarts"] as? Int == 0)
            #expect(once["exitCode"] as? Int == 0)
            let logs = try lab("logs", "--lab", name, "crasher", "-c", "loop")
            #expect(logs.stdout.contains("boom"))
            #expect(try lab("logs", "--lab", name, "crasher", "-c", "once").stdout == "done\n")
            #expect(try lab("logs", "--lab", name, "crasher").status == 1, "two containers: -c is required")
        }
    }

    @Test func downEndsEveryProcessEvenAfterTheSupervisorWasKilled() throws {
        let name = uniqueLabName("kill")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).yaml")
        try containerLab(name).write(to: file, atomically: true, encoding: .utf8)
        defer { _ = try? lab("down", name); try? FileManager.default.removeItem(at: file) }
        try #require(try lab("up", file.path).succeeded)
        let sidecar = try #require(try containerState(name, pod: "server", container: "sidecar")?["pid"] as? Int)
        let supervisor = try #require(Int(try String(contentsOfFile: "/run/lab/\(name)/supervisor.pid", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(Int32(supervisor), SIGKILL)
        // Its death, not a pause: only then does "outlives its supervisor" mean anything.
        #expect(eventually(within: 5) { !isRunning(supervisor) }, "the supervisor survived SIGKILL")
        #expect(isRunning(sidecar), "the sidecar outlives its supervisor until down")
        let down = try lab("down", name)
        #expect(down.succeeded, "\(down.stderr)")
        #expect(!isRunning(sidecar), "sidecar \(sidecar) still alive after down")
        #expect(!isRunning(supervisor))
        try expectNothingLeft(of: name)
    }

    @Test func upAgainLeavesRunningProcessesAlone() throws {
        let name = uniqueLabName("keep")
        try withLab(containerLab(name), name: name) { path in
            let before = try containerState(name, pod: "server", container: "sidecar")?["pid"] as? Int
            #expect(before != nil)
            #expect(try lab("up", path).stdout.contains("up to date"))
            #expect(try containerState(name, pod: "server", container: "sidecar")?["pid"] as? Int == before)
        }
    }
}
