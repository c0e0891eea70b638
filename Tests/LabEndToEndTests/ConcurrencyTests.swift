import Foundation
import LabRuntime
import Testing

/// Two racks, two nodes, a client, an agent behind a service and a laptop, every address
/// spelled out: two copies with different names have exactly the same addresses. The server's
/// name differs per copy so an answer says which lab it came from.
func twinLab(_ name: String, server: String) -> String {
    """
    name: \(name)
    cluster: {podCIDR: 10.244.0.0/16, serviceCIDR: 10.96.0.0/16}
    networks:
      - {name: rack-1, cidr: 192.168.1.0/24}
      - {name: rack-2, cidr: 172.16.0.0/16}
    nodes:
      - {name: node-1, network: rack-1, ip: 192.168.1.10, podCIDR: 10.244.1.0/24}
      - {name: node-2, network: rack-2, ip: 172.16.1.1, podCIDR: 10.244.2.0/24}
    pods:
      - {name: client, node: node-1, ip: 10.244.1.2}
      - name: \(server)
        node: node-2
        ip: 10.244.2.2
        labels: {app: web}
        containers: [{name: agent, agent: {http: [8080]}}]
    services:
      - {name: web, clusterIP: 10.96.0.20, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
    hosts:
      - {name: laptop, network: rack-1, ip: 192.168.1.100}
    probes:
      - {name: across networks, from: client, to: \(server), ping: {count: 1}}
      - {name: own server, from: client, to: \(server), http: {port: 8080, path: /hostname}, expect: {body: \(server)}}
      - {name: own service, from: client, to: service/web, http: {port: 80, path: /hostname}, repeat: 3, expect: {servedBy: [\(server)]}}
      - {name: laptop, from: laptop, to: client, ping: {}}
    """
}

/// Holds a lab's lock from the test process, as a concurrent `lab up` would: an exclusive
/// `flock` on `/run/lab/.<lab>.lock` (O_CLOEXEC, so no `lab` started meanwhile inherits it).
/// `release()` removes the file while still holding it, as `lab down` does (`LabLock`).
final class HeldLabLock {
    let path: String
    private var fd: Int32

    init(lab: String) throws {
        path = "/run/lab/.\(lab).lock"
        try FileManager.default.createDirectory(atPath: "/run/lab", withIntermediateDirectories: true)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw POSIXError(.EWOULDBLOCK)
        }
    }

    func release() {
        guard fd >= 0 else { return }
        unlink(path)
        close(fd)
        fd = -1
        rmdir("/run/lab")   // only if it is empty, as `lab down` leaves it
    }

    deinit { release() }
}

/// Labs with different names never touch each other, even with the same
/// addresses; two runs of the same lab are serialised by its lock.
@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct ConcurrencyTests {
    @Test func twoLabsWithTheSameAddressesComeUpTogetherAndStayApart() throws {
        let first = uniqueLabName("twin-a"), second = uniqueLabName("twin-b")
        let firstPath = try writeLabFile(twinLab(first, server: "server-a"), name: first)
        let secondPath = try writeLabFile(twinLab(second, server: "server-b"), name: second)
        defer {
            _ = try? lab("down", first); _ = try? lab("down", second)
            try? FileManager.default.removeItem(atPath: firstPath); try? FileManager.default.removeItem(atPath: secondPath)
        }
        let before = try rootNamespaceSnapshot()

        let upFirst = try BackgroundLab(["up", firstPath]), upSecond = try BackgroundLab(["up", secondPath])
        let resultFirst = upFirst.wait(), resultSecond = upSecond.wait()
        try #require(resultFirst.succeeded, "\(resultFirst.stderr)")
        try #require(resultSecond.succeeded, "\(resultSecond.stderr)")
        for name in [first, second] {
            let verify = try lab("verify", name)
            #expect(verify.succeeded, "\(name): \(verify.stdout)\(verify.stderr)")
            #expect(verify.stdout.hasSuffix("4 passed, 0 failed\n"), "\(name): \(verify.stdout)")
        }
        // Each client reaches its own lab's server, whose name says which lab answered.
        for (name, server) in [(first, "server-a"), (second, "server-b")] {
            let answer = try run(["ip", "netns", "exec", "lab.\(name).pod.client", "curl", "-s", "--max-time", "3", "http://10.96.0.20/hostname"])
            #expect(answer.stdout == server, "\(name): \(answer.stdout)")
        }

        // Down of the first leaves the second exactly as it was: namespaces, interfaces, processes.
        let secondNamespaces = try namespaces(of: second)
        let secondLinks = try run(["ip", "-n", "lab.\(second).pod.client", "-o", "link", "show", "eth0"]).stdout
        let secondSupervisor = try #require(supervisors(of: second).first.flatMap(ProcessIdentity.init(pid:)))
        let firstProcesses = try labProcesses(first)
        let down = try lab("down", first)
        #expect(down.succeeded, "\(down.stderr)")
        try expectNothingLeft(of: first, processes: firstProcesses)
        #expect(try namespaces(of: second).sorted() == secondNamespaces.sorted())
        #expect(try run(["ip", "-n", "lab.\(second).pod.client", "-o", "link", "show", "eth0"]).stdout == secondLinks)
        #expect(secondSupervisor.isAlive, "the other lab's supervisor was touched")
        let verify = try lab("verify", second)
        #expect(verify.succeeded, "\(verify.stdout)\(verify.stderr)")
        #expect(try ping(from: "lab.\(second).host.laptop", to: "10.244.2.2"))

        let secondProcesses = try labProcesses(second)
        #expect(try lab("down", second).succeeded)
        try expectNothingLeft(of: second, processes: secondProcesses)
        #expect(try rootNamespaceSnapshot() == before, "the root namespace changed")
    }

    /// Two `lab up` of one file at once: the second waits for the first, then finds the lab up
    /// to date. One lab, one supervisor.
    @Test func sameLabTwiceAtOnceBuildsItOnce() throws {
        let name = uniqueLabName("twice")
        let text = twinLab(name, server: "server")
        let path = try writeLabFile(text, name: name)
        defer { _ = try? lab("down", name); try? FileManager.default.removeItem(atPath: path) }
        let expected = try LabController.prepare(text: text, file: path).topology.allNetns.sorted()

        for round in 0..<2 {
            let one = try BackgroundLab(["up", path]), other = try BackgroundLab(["up", path])
            let results = [one.wait(), other.wait()]
            for result in results { #expect(result.succeeded, "round \(round): \(result.stderr)") }
            let builds = results.filter { $0.stdout.contains("is up from") }.count
            let noops = results.filter { $0.stdout.contains("is up to date") }.count
            #expect(builds == 1 && noops == 1, "round \(round): \(results.map(\.stdout))")
            #expect(try namespaces(of: name).sorted() == expected, "round \(round)")
            #expect(supervisors(of: name).count == 1, "round \(round): supervisors \(supervisors(of: name))")
            let verify = try lab("verify", name)
            #expect(verify.succeeded, "round \(round): \(verify.stdout)")
            let processes = try labProcesses(name)
            #expect(try lab("down", name).succeeded)
            try expectNothingLeft(of: name, processes: processes)
        }
    }

    /// `up` and `down` of one lab at once run one after the other, so the end is one of the two
    /// consistent states: the lab fully up (and verifying), or nothing at all. Then `down`
    /// started while `up` holds the lock: it waits, and removes what `up` built.
    @Test func upAndDownAtOnceAreSerialised() throws {
        let name = uniqueLabName("updown")
        let text = twinLab(name, server: "server")
        let path = try writeLabFile(text, name: name)
        defer { _ = try? lab("down", name); try? FileManager.default.removeItem(atPath: path) }
        let expected = try LabController.prepare(text: text, file: path).topology.allNetns.sorted()

        for round in 0..<3 {
            let up = try BackgroundLab(["up", path]), down = try BackgroundLab(["down", name])
            let upResult = up.wait(), downResult = down.wait()
            #expect(upResult.succeeded, "round \(round): \(upResult.stderr)")
            #expect(downResult.succeeded, "round \(round): \(downResult.stderr)")
            let present = try namespaces(of: name)
            if present.isEmpty {
                try expectNothingLeft(of: name)
            } else {
                #expect(present.sorted() == expected, "round \(round): a partial lab \(present)")
                #expect(supervisors(of: name).count == 1, "round \(round)")
                #expect(FileManager.default.fileExists(atPath: "/run/lab/\(name)/lab.yaml"), "round \(round)")
                let verify = try lab("verify", name)
                #expect(verify.succeeded, "round \(round): \(verify.stdout)")
                let processes = try labProcesses(name)
                #expect(try lab("down", name).succeeded)
                try expectNothingLeft(of: name, processes: processes)
            }
        }

        // `up` holds the lock once its state directory exists; a `down` started then waits.
        let up = try BackgroundLab(["up", path])
        #expect(eventually(within: 20) { FileManager.default.fileExists(atPath: "/run/lab/\(name)") || !up.process.isRunning })
        let down = try BackgroundLab(["down", name])
        let upResult = up.wait(), downResult = down.wait()
        #expect(upResult.succeeded, "\(upResult.stderr)")
        #expect(downResult.succeeded, "\(downResult.stderr)")
        #expect(downResult.stdout.contains("removed \(expected.count) namespaces"), "\(downResult.stdout)")
        try expectNothingLeft(of: name)
    }

    /// With the lock held elsewhere and `LAB_LOCK_TIMEOUT=1`, `up` says it waits, gives up after
    /// about a second with a message naming the lock, exits 1 and creates nothing; so does `down`.
    @Test func aHeldLockMakesUpWaitThenGiveUp() throws {
        let name = uniqueLabName("busy")
        let path = try writeLabFile(twinLab(name, server: "server"), name: name)
        defer { _ = try? lab("down", name); try? FileManager.default.removeItem(atPath: path) }
        let held = try HeldLabLock(lab: name)
        defer { held.release() }

        let started = Date()
        let up = try lab("up", path, environment: environment(adding: ["LAB_LOCK_TIMEOUT": "1"]))
        let waited = Date().timeIntervalSince(started)
        #expect(up.status == 1, "exit \(up.status): \(up.stderr)")
        #expect(up.stderr.contains("waiting for it"), "\(up.stderr)")
        #expect(up.stderr.contains("still holds \(held.path) after 1 s"), "\(up.stderr)")
        #expect(waited >= 0.95 && waited < 15, "gave up after \(waited) s")
        #expect(try namespaces(of: name).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/run/lab/\(name)"), "up created its state without the lock")
        #expect(supervisors(of: name).isEmpty)

        let down = try lab("down", name, environment: environment(adding: ["LAB_LOCK_TIMEOUT": "1"]))
        #expect(down.status == 1, "exit \(down.status): \(down.stderr)")
        #expect(down.stderr.contains("still holds \(held.path)"), "\(down.stderr)")

        held.release()
        try expectNothingLeft(of: name)
    }

    /// A `LAB_LOCK_TIMEOUT` that is not a number is ignored: `up` keeps waiting (the default is
    /// 30 s) and goes on as soon as the lock is free.
    @Test func anInvalidLockTimeoutKeepsTheDefaultWait() throws {
        let name = uniqueLabName("busy-inv")
        let path = try writeLabFile(twinLab(name, server: "server"), name: name)
        defer { _ = try? lab("down", name); try? FileManager.default.removeItem(atPath: path) }
        let held = try HeldLabLock(lab: name)
        defer { held.release() }

        let up = try BackgroundLab(["up", path], environment: environment(adding: ["LAB_LOCK_TIMEOUT": "soon"]))
        #expect(eventually(within: 20) { up.stderrSoFar.contains("waiting for it") || !up.process.isRunning })
        // The event that would fail the test is `up` giving up; it is watched for 2.5 s (a short
        // timeout misread from "soon" would end it well within that) and fails the test at once.
        let gaveUp = eventually(within: 2.5) { !up.process.isRunning }
        #expect(!gaveUp && up.process.isRunning, "up stopped waiting within 2.5 s: \(up.stderrSoFar)")
        #expect(try namespaces(of: name).isEmpty, "up went on while the lock was held")
        held.release()
        let result = up.wait()
        #expect(result.succeeded, "\(result.stderr)")
        #expect(result.stderr.contains("waiting for it"), "\(result.stderr)")
        #expect(try lab("verify", name).succeeded)
        let processes = try labProcesses(name)
        #expect(try lab("down", name).succeeded)
        try expectNothingLeft(of: name, processes: processes)
    }
}

/// `LAB_LOCK_TIMEOUT` parsing: pure, no root needed.
struct LockTimeoutTests {
    @Test func usableNumbersAreTakenAndAnythingElseIsTheDefault() {
        #expect(LabLock.timeout(parsing: nil) == LabLock.defaultTimeout)
        #expect(LabLock.defaultTimeout == 30)
        #expect(LabLock.timeout(parsing: "1") == 1)
        #expect(LabLock.timeout(parsing: "0.5") == 0.5)
        #expect(LabLock.timeout(parsing: " 2 ") == 2)
        #expect(LabLock.timeout(parsing: "0") == 0)
        for invalid in ["", "soon", "1s", "-1", "inf", "nan", "1e999"] {
            #expect(LabLock.timeout(parsing: invalid) == LabLock.defaultTimeout, "\(invalid)")
        }
    }
}
