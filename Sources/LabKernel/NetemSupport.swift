import Glibc
import Synchronization

/// Whether the running kernel has netem (`CONFIG_NET_SCH_NETEM`), found out by asking it for
/// one: many kernels lack it (a distribution's "extra" modules, or not built at all), and the
/// answer is the same for every namespace, so it is asked once per process.
public enum NetemSupport {
    private static let answer = Mutex<Bool?>(nil)

    /// Asks through `socket` (a namespace of ours): a netem qdisc is put on its `lo` and taken
    /// off again. The kernel answers ENOENT ("Specified qdisc kind is unknown") without netem,
    /// EOPNOTSUPP where the kind exists but cannot be used.
    public static func available(probingWith socket: RouteSocket) throws -> Bool {
        if let known = answer.withLock({ $0 }) { return known }
        let found: Bool
        do {
            try socket.submit(.replaceNetem(link: "lo", limit: 1000, delayMicroseconds: 0, jitterMicroseconds: 0,
                                            rateBytesPerSecond: nil))
            try socket.submit(.deleteRootQdisc(link: "lo"))
            found = true
        } catch let error as KernelError where error.errno == ENOENT || error.errno == EOPNOTSUPP {
            found = false
        }
        answer.withLock { $0 = found }
        return found
    }

    /// The answer of an earlier probe in this process, if any.
    public static var known: Bool? { answer.withLock { $0 } }

    /// Probes in a throwaway namespace (for `lab doctor`, which has no lab to ask in).
    public static func probeInScratchNamespace() throws -> Bool {
        if let known { return known }
        let name = "lab-netem-probe.\(getpid())"
        let namespace = try NetworkNamespace.create(name)
        defer { try? NetworkNamespace.delete(name) }
        let socket = try RouteSocket(in: namespace)
        try socket.submit(.setUp(link: "lo"))
        return try available(probingWith: socket)
    }
}
