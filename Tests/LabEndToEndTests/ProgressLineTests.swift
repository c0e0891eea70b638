import Foundation
import Testing

/// The progress line of `lab up` and `lab down`: on a terminal, one line rewritten in place and
/// erased at the end; through a pipe, not a byte of it. `LAB_PROGRESS_AFTER=0` makes it appear
/// at once, so a small lab is enough.
@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct ProgressLineTests {
    /// The neighbour mode is fixed: `auto` weighs the host's table as it is at that moment, which
    /// the parallel suite keeps changing, and two runs compared line by line must choose alike.
    static func smallLab(_ name: String) -> String {
        """
        name: \(name)
        cluster: {neighbours: arp}
        nodes: [{name: n1}, {name: n2}]
        pods:
          - {name: a, node: n1}
          - {name: b, node: n2}
          - {name: c, node: n1}
        """
    }

    /// The seconds in `… in 0.12 s: …` differ from run to run.
    /// The output with what changes from run to run masked: times, and the host's neighbour
    /// entries in use (other labs on the host come and go).
    static func withoutTimes(_ text: String) -> String {
        text.replacing(/in [0-9]+\.[0-9]+ s/, with: "in N s").replacing(/[0-9,]+ in use/, with: "N in use")
    }

    @Test func aPipeGetsExactlyTheOutputOfARunWithoutTheLine() throws {
        let name = uniqueLabName("prog")
        let file = try writeLabFile(Self.smallLab(name), name: name)
        defer {
            _ = try? lab("down", name)
            try? FileManager.default.removeItem(atPath: file)
        }
        let immediately = environment(adding: ["LAB_PROGRESS_AFTER": "0"])
        let up = try lab("up", file, environment: immediately)
        try #require(up.succeeded, "\(up.stderr)")
        let down = try lab("down", name, environment: immediately)
        try #require(down.succeeded, "\(down.stderr)")
        // The same commands with the line at its usual second (which this lab never reaches).
        let plainUp = try lab("up", file)
        try #require(plainUp.succeeded, "\(plainUp.stderr)")
        let plainDown = try lab("down", name)
        try #require(plainDown.succeeded, "\(plainDown.stderr)")

        for output in [up.stdout, down.stdout, up.stderr, down.stderr] {
            #expect(!output.contains("\r") && !output.contains("\u{1B}"), "terminal control in piped output: \(output.debugDescription)")
        }
        #expect(Self.withoutTimes(up.stdout) == Self.withoutTimes(plainUp.stdout))
        #expect(up.stdout.hasPrefix("lab \(name) is up from \(file) in "))
        #expect(down.stdout == plainDown.stdout)
        #expect(down.stdout == "lab \(name) is down: removed 7 namespaces and its state\n")
        try expectNothingLeft(of: name)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs script(1) for a terminal"))
    func aTerminalSeesThePhaseRewrittenInPlaceAndErasedAtTheEnd() throws {
        let name = uniqueLabName("prog")
        let file = try writeLabFile(Self.smallLab(name), name: name)
        defer {
            _ = try? lab("down", name)
            try? FileManager.default.removeItem(atPath: file)
        }
        // script(1) runs the command on a pseudo-terminal and copies what it writes.
        let up = try run(["script", "-qec", "LAB_PROGRESS_AFTER=0 \(labBinary) up \(file)", "/dev/null"])
        try #require(up.succeeded, "\(up.stdout)")
        let erase = "\r\u{1B}[K"
        #expect(up.stdout.contains(erase + "up \(name): "), "no progress line in \(up.stdout.debugDescription)")
        // Erased before the summary, which then starts on a clean line.
        let summary = try #require(up.stdout.range(of: "lab \(name) is up from"))
        let lastErase = try #require(up.stdout.range(of: erase, options: .backwards))
        #expect(lastErase.upperBound == summary.lowerBound)
        #expect(up.stdout.contains(" s"))

        let down = try run(["script", "-qec", "LAB_PROGRESS_AFTER=0 \(labBinary) down \(name)", "/dev/null"])
        try #require(down.succeeded, "\(down.stdout)")
        // `down` knows its lab from the start, so the line is there at once (its phase may not be yet).
        #expect(down.stdout.contains(erase + "down \(name)"), "no progress line in \(down.stdout.debugDescription)")
        #expect(down.stdout.hasSuffix(erase + "lab \(name) is down: removed 7 namespaces and its state\r\n"))
        try expectNothingLeft(of: name)
    }
}

/// An `up` of the very text a lab is up from skips parsing it, but says and does exactly what
/// the full path does — including repeating the file's warnings, which is why a text with
/// warnings still takes the full path.
@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct UnchangedUpTests {
    @Test func theSameTextIsUpToDateWithAndWithoutWarnings() throws {
        let name = uniqueLabName("same")
        let clean = """
            name: \(name)
            nodes: [{name: n1}]
            pods: [{name: a, node: n1}]
            """
        let file = try writeLabFile(clean, name: name)
        defer {
            _ = try? lab("down", name)
            try? FileManager.default.removeItem(atPath: file)
        }
        try #require(try lab("up", file).succeeded)
        let again = try lab("up", file)
        #expect(again.succeeded)
        // a and the DNS pod: the bridge and the node 1 each, cni0 and each pod 2 each.
        #expect(again.stdout == "lab \(name) is up to date (1 nodes, 2 pods, 0 hosts, 1 networks); nothing to do\n"
                + "  neighbours: arp (as the lab was built; it may need 8 entries)\n")
        #expect(again.stderr == "")
        #expect(FileManager.default.fileExists(atPath: "/run/lab/\(name)/lab.yaml.clean"))

        // A selector that matches nothing is a warning: said again on every up.
        let warned = clean + "\nservices: [{name: s, selector: {app: none}, ports: [{port: 80}]}]\n"
        try warned.write(toFile: file, atomically: true, encoding: .utf8)
        let changed = try lab("up", file)
        #expect(changed.succeeded, "\(changed.stderr)")
        #expect(changed.stderr.contains("matches no pod"))
        #expect(!FileManager.default.fileExists(atPath: "/run/lab/\(name)/lab.yaml.clean"))
        let warnedAgain = try lab("up", file)
        #expect(warnedAgain.stdout.contains("is up to date"))
        #expect(warnedAgain.stderr == changed.stderr)

        // A lab whose namespaces were removed behind its back is rebuilt, not taken as up.
        try #require(try lab("down", name).succeeded)
        try clean.write(toFile: file, atomically: true, encoding: .utf8)
        try #require(try lab("up", file).succeeded)
        _ = try run(["ip", "netns", "delete", "lab.\(name).pod.a"])
        let repaired = try lab("up", file)
        #expect(repaired.succeeded)
        #expect(repaired.stdout.contains("is up from"))
        #expect(try namespaces(of: name).contains("lab.\(name).pod.a"))
        try #require(try lab("down", name).succeeded)
        try expectNothingLeft(of: name)
    }
}
