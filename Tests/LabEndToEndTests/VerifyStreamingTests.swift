import Foundation
import Testing

/// `lab verify` prints each probe's line as soon as it and those before it have finished, and
/// an interrupt prints the report so far, writes JUnit, and exits 128 + the signal.
@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct VerifyStreamingTests {
    /// One pod; a probe that passes at once, then one that takes 30 s (an exec of `sleep`, so
    /// no packet and no neighbour entry is involved).
    static func slowLab(_ name: String) -> String {
        """
        name: \(name)
        nodes: [{name: node-1}]
        pods:
          - {name: p1, node: node-1}
        probes:
          - {name: quick, from: p1, exec: ["true"]}
          - {name: slow, from: p1, exec: [sleep, "30"], timeout: 60s}
          - {name: after, from: p1, exec: ["true"]}
        """
    }

    /// Starts `lab verify` and returns it with what it printed up to the first line that
    /// satisfies `until` (or end of output).
    private func start(_ arguments: [String], until: (String) -> Bool) throws -> (Process, Pipe, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: labBinary)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Never wait past the slow probe if the line does not come.
        let watchdog = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 20, execute: watchdog)
        var text = ""
        while !until(text) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        watchdog.cancel()
        return (process, out, text)
    }

    @Test(arguments: [(SIGINT, Int32(130)), (SIGTERM, Int32(143))])
    func theFirstLineComesWhileItRunsAndAnInterruptReportsWhatRan(signal: Int32, status: Int32) throws {
        let name = uniqueLabName("stream")
        try withLab(Self.slowLab(name), name: name) { _ in
            let junit = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).xml").path
            defer { try? FileManager.default.removeItem(atPath: junit) }
            let started = Date()
            let (process, out, early) = try start(["verify", name, "--junit", junit]) { $0.contains("quick") }
            #expect(early.contains("PASS  quick"), "\(early)")
            #expect(process.isRunning, "the first line came before the run ended")
            #expect(Date().timeIntervalSince(started) < 15)
            #expect(!early.contains("after"), "a probe behind the slow one waits for it")
            kill(process.processIdentifier, signal)
            let rest = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == status)
            #expect(Date().timeIntervalSince(started) < 20, "the interrupt did not wait for the slow probe")
            let report = early + rest
            // The probe after the slow one finished too: it is reported, the slow one is not.
            #expect(report.contains("PASS  after"), "\(report)")
            #expect(!report.contains("slow"), "\(report)")
            #expect(report.hasSuffix("2 passed, 0 failed, 1 not run (interrupted)\n"), "\(report)")
            let xml = try String(contentsOfFile: junit, encoding: .utf8)
            #expect(xml.contains("tests=\"3\" failures=\"0\" errors=\"0\" skipped=\"1\""), "\(xml)")
            // The exec probe's command was ended with the run.
            #expect(try run(["pgrep", "-x", "-f", "sleep 30"]).stdout.isEmpty)
        }
    }
}
