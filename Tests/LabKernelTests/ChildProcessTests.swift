import Foundation
import LabKernel
import Testing

/// Wait statuses as a shell reports them; no process needed.
struct ProcessExitTests {
    @Test func anExitCodeOrOneHundredTwentyEightPlusTheSignal() {
        let exited = ProcessExit(waitStatus: 3 << 8)
        #expect(exited.code == 3 && exited.signal == nil && exited.description == "exit 3")
        let killed = ProcessExit(waitStatus: SIGKILL)
        #expect(killed.code == 137 && killed.signal == SIGKILL && killed.description == "killed by signal 9")
        #expect(ProcessExit(waitStatus: 0).code == 0)
    }
}

/// Real processes, started by `ChildProcess` and ended by pid; every one is reaped or killed
/// before its test returns.
@Suite(.enabled(if: isRoot, "needs root")) struct ChildProcessTests {
    /// A pipe whose write end becomes the child's stdout and stderr; `text` reads to its end
    /// (every writer gone) or, with `line`, up to the first newline.
    final class OutputPipe {
        let reader: Int32
        let writer: Int32

        init() throws {
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else { throw POSIXError(.init(rawValue: errno)!) }
            // Close-on-exec, so no other test's child holds the writer (Swift does not see pipe2).
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            reader = ends[0]
            writer = ends[1]
        }

        deinit {
            close(reader)
            closeWriter()
        }

        private var writerOpen = true
        func closeWriter() {
            if writerOpen { close(writer) }
            writerOpen = false
        }

        func text(line: Bool = false) -> String {
            closeWriter()
            var bytes: [UInt8] = []
            var byte: UInt8 = 0
            while read(reader, &byte, 1) == 1 {
                bytes.append(byte)
                if line && byte == UInt8(ascii: "\n") { break }
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Ignores SIGTERM and says so on stdout once it does; `exec` keeps the pid (an ignored
    /// signal stays ignored across exec).
    static let ignoresTERM = ["-c", "trap '' TERM; echo ready; exec sleep 30"]

    func inode(_ path: String) throws -> UInt64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw POSIXError(.init(rawValue: errno)!) }
        return UInt64(info.st_ino)
    }

    func hostname() -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }

    @Test func spawnsInANamespaceWeCreatedWithItsOwnHostnameAndNothingElse() throws {
        try withTestNamespaces("a") { namespaces in
            let namespace = namespaces[0]
            let ours = hostname()
            let output = try OutputPipe()
            let child = try ChildProcess.spawn(
                program: "sh", arguments: ["-c", "readlink /proc/self/ns/net; hostname; echo \"$PATH $LAB_X\"; cat; ls /proc/self/fd"],
                environment: ChildProcess.baseEnvironment.merging(["LAB_X": "x"]) { $1 },
                netns: namespace, hostname: "labtest-pod", stdout: .descriptor(output.writer), stderr: .descriptor(output.writer))
            let lines = output.text().split(separator: "\n", omittingEmptySubsequences: false)
            #expect(child.wait().code == 0)
            #expect(lines.count >= 3)
            #expect(lines.first.map(String.init) == "net:[\(try inode("/run/netns/\(namespace.name)"))]")
            #expect(lines.dropFirst().first == "labtest-pod")
            #expect(lines.dropFirst(2).first.map(String.init) == "\(ProgramLookup.basePath) x")
            // stdin is /dev/null (cat ends at once); only 0, 1, 2 and ls's own directory are open.
            #expect(lines.dropFirst(3).filter { !$0.isEmpty }.sorted() == ["0", "1", "2", "3"])
            #expect(hostname() == ours, "the host's hostname changed")
        }
    }

    @Test func exitCodesAndSignalsAsAShellReportsThem() throws {
        #expect(try ChildProcess.spawn(program: "true").wait() == ProcessExit(waitStatus: 0))
        let three = try ChildProcess.spawn(program: "sh", arguments: ["-c", "exit 3"]).wait()
        #expect(three.code == 3 && three.signal == nil)
        let killed = try ChildProcess.spawn(program: "sh", arguments: ["-c", "kill -9 $$"]).wait()
        #expect(killed.code == 137 && killed.signal == SIGKILL)
    }

    @Test func aMissingProgramOrAFailedExecIsAnErrorNamingTheStep() throws {
        let missing = #expect(throws: SpawnError.self) { try ChildProcess.spawn(program: "no-such-program-for-lab") }
        #expect(missing?.step == .lookup)
        #expect(missing?.description == "no-such-program-for-lab: command not found in \(ProgramLookup.basePath)")
        // A directory passes access(X_OK) but execve refuses it: the child reports the step.
        let directory = #expect(throws: SpawnError.self) { try ChildProcess.spawn(program: "/tmp") }
        #expect(directory?.step == .exec)
        #expect(directory?.errno == EACCES)
        #expect(directory?.description == "exec failed for /tmp: Permission denied")
    }

    /// `binds`: the child sees the file over its target, in a mount namespace of its own; the
    /// host's file stays as it was. A missing source is an error naming the step.
    @Test func aBoundFileIsTheChildsAloneAndAMissingOneIsAnError() throws {
        let source = FileManager.default.temporaryDirectory.appendingPathComponent("lab-bind-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try "nameserver 192.0.2.53\n".write(toFile: source, atomically: true, encoding: .utf8)
        defer { unlink(source) }
        let host = try String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)
        func resolverMounts() throws -> Int {
            try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).split(separator: "\n").filter { $0.contains(" /etc/resolv.conf ") }.count
        }
        let mountsBefore = try resolverMounts()
        let output = try OutputPipe()
        let child = try ChildProcess.spawn(program: "cat", arguments: ["/etc/resolv.conf"], stdout: .descriptor(output.writer),
                                           binds: [ChildProcess.BindMount(source: source, target: "/etc/resolv.conf")])
        #expect(output.text() == "nameserver 192.0.2.53\n")
        #expect(child.wait().code == 0)
        #expect(try String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8) == host, "the host's file is untouched")
        #expect(try resolverMounts() == mountsBefore, "nothing propagated to the caller's mount namespace")
        let missing = #expect(throws: SpawnError.self) {
            try ChildProcess.spawn(program: "true", binds: [ChildProcess.BindMount(source: source + ".missing", target: "/etc/resolv.conf")])
        }
        #expect(missing?.step == .bindMount && missing?.errno == ENOENT)
    }

    @Test func aDeadlineThatExpiresLeavesTheChildRunningAndAnExitEndsTheWaitAtOnce() throws {
        let child = try ChildProcess.spawn(program: "sleep", arguments: ["5"])
        let clock = ContinuousClock()
        var running: ProcessExit?
        let waited = clock.measure { running = child.wait(deadline: .now + .milliseconds(200)) }
        #expect(running == nil)
        #expect(waited >= .milliseconds(200) && waited < .seconds(1), "waited \(waited)")
        #expect(ProcessTermination.isRunning(child.pid))
        // sleep dies of SIGTERM: the pidfd wakes the wait long before the grace is out.
        var status: ProcessExit?
        let ended = clock.measure { status = child.terminate(grace: .seconds(5)) }
        #expect(status?.signal == SIGTERM && status?.code == 143)
        #expect(ended < .seconds(1), "took \(ended)")
        #expect(kill(child.pid, 0) == -1 && errno == ESRCH, "not reaped")
    }

    @Test func terminateKillsAChildThatIgnoresSIGTERMOnceTheGraceIsOut() throws {
        let output = try OutputPipe()
        let child = try ChildProcess.spawn(program: "sh", arguments: Self.ignoresTERM, stdout: .descriptor(output.writer))
        #expect(output.text(line: true) == "ready\n")
        var status: ProcessExit?
        let took = ContinuousClock().measure { status = child.terminate(grace: .milliseconds(300)) }
        #expect(status?.signal == SIGKILL && status?.code == 137)
        #expect(took >= .milliseconds(300) && took < .seconds(2), "took \(took)")
        #expect(kill(child.pid, 0) == -1 && errno == ESRCH, "not reaped")
    }

    @Test func processTerminationEndsEveryProcessInTheNamespacesNamedAndNoOther() throws {
        try withTestNamespaces("a", "b") { namespaces in
            let (inside, outside) = (namespaces[0], namespaces[1])
            let output = try OutputPipe()
            let stubborn = try ChildProcess.spawn(program: "sh", arguments: Self.ignoresTERM, netns: inside,
                                                  stdout: .descriptor(output.writer))
            let plain = try ChildProcess.spawn(program: "sleep", arguments: ["30"], netns: inside)
            let other = try ChildProcess.spawn(program: "sleep", arguments: ["30"], netns: outside)
            defer { _ = other.terminate(grace: .zero) }
            #expect(output.text(line: true) == "ready\n")
            let listed = try run("ip", "netns", "pids", inside.name).output.split(separator: "\n").compactMap { Int32($0) }
            #expect(Set(listed) == [stubborn.pid, plain.pid])

            var ended = 0
            let took = ContinuousClock().measure {
                ended = ProcessTermination.terminate(inNetns: [inside.name], grace: .milliseconds(300))
            }
            #expect(ended == 2)
            #expect(took >= .milliseconds(300) && took < .seconds(2), "took \(took)")
            // Both have exited (the SIGKILLed one may still wait to be reaped: the pidfd says).
            for child in [stubborn, plain] {
                #expect(PidFD(pid: child.pid)?.waitForExit(deadline: .now + .seconds(2)) ?? true, "\(child.pid) still runs")
                _ = child.reap()
            }
            #expect(try run("ip", "netns", "pids", inside.name).output == "")
            #expect(ProcessTermination.isRunning(other.pid), "a process in another namespace was ended")
        }
    }
}
