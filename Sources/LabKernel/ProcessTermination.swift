import Glibc

/// Ending processes that need not be ours — whatever is left in a lab's namespaces, a
/// supervisor another `lab` started — by pid: SIGTERM, a grace period, SIGKILL. Each is
/// watched through a pidfd, so its exit ends the wait at once and no signal reaches a process
/// that took a pid over meanwhile.
public enum ProcessTermination {
    /// Every process inside the named network namespaces but this one: a process in a namespace
    /// keeps it alive after `ip netns del`, with its veths and addresses. Returns how many
    /// there were.
    ///
    /// Equivalent to: `ip netns pids NETNS | xargs kill; sleep GRACE; ip netns pids NETNS | xargs kill -9`
    @discardableResult
    public static func terminate(inNetns names: [String], grace: Duration) -> Int {
        var pids = Set(NetworkNamespace.pids(inNamespacesNamed: names))
        pids.remove(getpid())
        return terminate(pids.sorted(), grace: grace)
    }

    /// SIGTERM to each, up to `grace` for them to exit, SIGKILL to what is left; children of
    /// ours among them are reaped once they have exited. Returns `pids.count`.
    @discardableResult
    public static func terminate(_ pids: [Int32], grace: Duration) -> Int {
        guard !pids.isEmpty else { return 0 }
        let deadline = ContinuousClock.now + grace
        var watched: [PidFD] = []
        var unwatched: [Int32] = []
        for pid in pids {
            if let process = PidFD(pid: pid) {
                process.signal(SIGTERM)
                watched.append(process)
            } else if isRunning(pid) {
                // Out of descriptors (or no pidfds): signalled by pid and looked for below.
                kill(pid, SIGTERM)
                unwatched.append(pid)
            }
        }
        while !(watched.isEmpty && unwatched.isEmpty), ContinuousClock.now < deadline {
            // Without a pidfd an exit is no event: look again every 20 ms.
            let wait = unwatched.isEmpty ? PidFD.milliseconds(until: deadline) : min(20, PidFD.milliseconds(until: deadline))
            let exited = PidFD.readable(watched, milliseconds: wait)
            for (process, gone) in zip(watched, exited) where gone { reapIfOurs(process.pid) }
            watched = zip(watched, exited).filter { !$0.1 }.map(\.0)
            unwatched = unwatched.filter { reapIfOurs($0); return isRunning($0) }
        }
        for process in watched { process.signal(SIGKILL) }
        for pid in unwatched { kill(pid, SIGKILL) }
        for pid in watched.map(\.pid) + unwatched { reapIfOurs(pid) }
        return pids.count
    }

    /// Alive and not a zombie (a zombie has exited; only its parent's wait is missing).
    public static func isRunning(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = readProcFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.first != "Z"
    }

    /// A child of ours that has exited is reaped; anything else is left alone.
    private static func reapIfOurs(_ pid: Int32) {
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
    }
}
