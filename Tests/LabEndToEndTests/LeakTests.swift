import Foundation
import LabRuntime
import Testing

/// `labs/demo.yaml` under another name (its `name:` line rewritten).
func demoLab(named name: String) throws -> String {
    let text = try String(contentsOf: repositoryRoot.appendingPathComponent("labs/demo.yaml"), encoding: .utf8)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
        line.hasPrefix("name: ") ? "name: \(name)" : String(line)
    }
    return lines.joined(separator: "\n")
}

/// The lab without its `containers:` blocks and without cluster DNS (the supervisor serves it),
/// so without a supervisor: what a test process can bring up in-process, since the supervisor
/// is started as `/proc/self/exe supervise`.
func withoutContainers(_ text: String) -> String {
    var kept: [Substring] = []
    var blockIndent: Int?
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let indent = line.prefix { $0 == " " }.count
        if let current = blockIndent, indent > current || line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
        blockIndent = nil
        if line.trimmingCharacters(in: .whitespaces).hasPrefix("containers:") {
            blockIndent = indent
            continue
        }
        kept.append(line)
        if line == "cluster:" { kept.append("  dns: false") }
    }
    return kept.joined(separator: "\n")
}

/// The fewest descriptors the process has over a few samples: other tests running in this
/// process at the same time open pipes for their commands, but never for long.
func steadyDescriptorCount(of pid: Int32) -> Int {
    var fewest = Int.max
    for _ in 0..<5 {
        fewest = min(fewest, openDescriptors(of: pid) ?? Int.max)
        usleep(20_000)
    }
    return fewest
}

/// A file as the kernel tells it apart: device and inode.
struct FileIdentity: Hashable, CustomStringConvertible {
    var device: UInt64
    var inode: UInt64

    /// What `path` is, following symbolic links: `/proc/self/fd/N` gives the open file itself
    /// (for a namespace descriptor: the namespace, whatever path it was opened by).
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }

    var description: String { "\(device):\(inode)" }
}

/// What each descriptor of this process refers to.
func descriptorTargets() -> Set<FileIdentity> {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return Set(entries.compactMap { FileIdentity(path: "/proc/self/fd/\($0)") })
}

/// The lab's namespaces, read through their bind mounts under /run/netns.
func namespaceIdentities(of lab: String) -> Set<FileIdentity> {
    Set(namespaceFiles(of: lab).compactMap { FileIdentity(path: "/run/netns/\($0)") })
}

func median(_ values: [Int]) -> Int { values.sorted()[values.count / 2] }

/// Many `up`/`down` cycles leave nothing behind and nothing grows.
@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct LeakTests {
    /// 50 cycles of the demo lab through the `lab` binary, each with its supervisor and
    /// containers. After them: no namespace, netns mount, state, lock or process of the lab, and
    /// the supervisors of late cycles hold no more descriptors or memory than early ones.
    @Test func fiftyCyclesOfTheDemoLeaveNothingAndGrowNothing() throws {
        let name = uniqueLabName("cycles")
        let path = try writeLabFile(try demoLab(named: name), name: name)
        defer { _ = try? lab("down", name); try? FileManager.default.removeItem(atPath: path) }
        let before = try rootNamespaceSnapshot()
        let cycles = 50
        var processes: [ProcessIdentity] = []
        var descriptors: [Int] = [], resident: [Int] = []
        let started = Date()

        for cycle in 0..<cycles {
            let up = try lab("up", "--quiet", path)
            try #require(up.succeeded, "cycle \(cycle): \(up.stderr)")
            let running = supervisors(of: name)
            try #require(running.count == 1, "cycle \(cycle): supervisors \(running)")
            let supervisor = running[0]
            descriptors.append(steadyDescriptorCount(of: supervisor))
            resident.append(residentKilobytes(of: supervisor) ?? 0)
            processes += [ProcessIdentity(pid: supervisor)].compactMap { $0 }
            processes += try processesInside(name).compactMap(ProcessIdentity.init(pid:))
            let down = try lab("down", name)
            try #require(down.succeeded, "cycle \(cycle): \(down.stderr)")
            #expect(namespaceFiles(of: name).isEmpty, "cycle \(cycle): namespaces left")
        }
        let seconds = Date().timeIntervalSince(started)
        print("LeakTests: \(cycles) up/down cycles of the demo lab in \(String(format: "%.1f", seconds)) s; supervisor fds \(descriptors), VmRSS kB \(resident)")

        try expectNothingLeft(of: name, processes: processes)
        #expect(processes.count >= cycles * 2, "every cycle ran its supervisor and containers")
        // Cycles 1–5 against the last five (cycle 0 may still fill caches of the host).
        let early = Array(1...5), late = Array((cycles - 5)..<cycles)
        let earlyFDs = early.map { descriptors[$0] }.max()!, lateFDs = late.map { descriptors[$0] }.max()!
        #expect(lateFDs <= earlyFDs + 1, "supervisor descriptors grew: \(descriptors)")
        let earlyRSS = median(early.map { resident[$0] }), lateRSS = median(late.map { resident[$0] })
        #expect(lateRSS <= earlyRSS + earlyRSS / 10 + 1024, "supervisor memory grew: \(earlyRSS) → \(lateRSS) kB")
        #expect(try rootNamespaceSnapshot() == before, "the root namespace changed")
    }

    /// The same cycles driven in-process through `LabController` (the demo without its
    /// containers): the test process's own descriptors do not grow, and it holds no descriptor
    /// of a namespace the lab had (which would keep the namespace alive after `down`).
    @Test func inProcessCyclesLeakNoDescriptors() throws {
        let name = uniqueLabName("fdcycles")
        let text = withoutContainers(try demoLab(named: name))
        try #require(!text.contains("containers:") && text.contains("pods:"))
        defer { _ = try? lab("down", name) }
        let before = try rootNamespaceSnapshot()
        let cycles = 50, warmUp = 3
        var baseline = 0
        var held: Set<FileIdentity> = []

        for cycle in 0..<cycles {
            let result = try LabController.up(text: text, file: "\(name).yaml")
            #expect(!result.unchanged, "cycle \(cycle)")
            let namespaces = namespaceIdentities(of: name)
            #expect(namespaces.count == result.topology.allNetns.count, "cycle \(cycle)")
            _ = try LabController.down(lab: name)
            held.formUnion(descriptorTargets().intersection(namespaces))
            if cycle == warmUp - 1 { baseline = steadyDescriptorCount(of: getpid()) }
        }
        let after = steadyDescriptorCount(of: getpid())
        print("LeakTests: test process descriptors \(baseline) after \(warmUp) in-process cycles, \(after) after \(cycles)")
        // One descriptor per cycle would be 47 more; a little slack for other tests' pipes.
        #expect(after <= baseline + 4, "descriptors grew from \(baseline) to \(after) over \(cycles - warmUp) cycles")
        #expect(held.isEmpty, "descriptors of the lab's namespaces still open: \(held)")
        try expectNothingLeft(of: name)
        #expect(try rootNamespaceSnapshot() == before, "the root namespace changed")
    }
}
