import Foundation
import LabDNS
import LabPlan

/// Every pod's `resolv.conf`, as kubelet writes it for `dnsPolicy: ClusterFirst`, kept where
/// `ip netns exec` looks for a namespace's own `/etc` files: `/etc/netns/<netns>/resolv.conf`.
/// `lab exec` and the containers the supervisor starts bind it over `/etc/resolv.conf` in a
/// mount namespace of their own; nodes and hosts have no such file and keep the host's.
///
/// Only directories named after one of the lab's namespaces (`lab.<lab>.`…) are ever written
/// or removed; `/etc/netns` itself is left in place, since other tools keep files there too.
public enum ResolverFiles {
    public static let root = "/etc/netns"
    public static let fileName = "resolv.conf"

    public static func directory(netns: String) -> String { "\(root)/\(netns)" }
    public static func path(netns: String) -> String { "\(directory(netns: netns))/\(fileName)" }

    /// The file of each pod of a lab with cluster DNS: kubelet's ClusterFirst text.
    public static func files(_ topology: Topology) -> [(netns: String, text: String)] {
        guard let dns = topology.dns else { return [] }
        return topology.pods.map { pod in
            (pod.netns, ResolverConfiguration.clusterFirst(namespace: pod.namespace, domain: dns.domain,
                                                           nameserver: dns.clusterIP.description).text)
        }
    }

    /// Makes the lab's files those of `topology`: each pod's written where it is missing or
    /// differs (in place, so a container that has it bound already sees the new text), and
    /// every other directory of the lab removed (pods that are gone, or the whole lab's when
    /// DNS is off). Returns how many files were written.
    @discardableResult
    public static func sync(_ topology: Topology) throws -> Int {
        let wanted = files(topology)
        let keep = Set(wanted.map(\.netns))
        remove(netns: leftovers(of: topology.lab).filter { !keep.contains($0) })
        guard !wanted.isEmpty else { return 0 }
        if mkdir(root, 0o755) != 0, errno != EEXIST { throw fileError("create", root) }
        var written = 0
        for (netns, text) in wanted {
            let path = path(netns: netns)
            let directory = directory(netns: netns)
            if mkdir(directory, 0o755) != 0 {
                guard errno == EEXIST else { throw fileError("create", directory) }
                // Only a directory that was there can hold the file already (a changed lab).
                if let current = try? String(contentsOfFile: path, encoding: .utf8), current == text { continue }
            }
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw fileError("write", path) }
            defer { close(fd) }
            let bytes = Array(text.utf8)
            guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else { throw fileError("write", path) }
            written += 1
        }
        return written
    }

    /// Removes these namespaces' directories (their `resolv.conf` and nothing else of theirs:
    /// a directory holding other files is left, and so is `/etc/netns`).
    public static func remove(netns names: [String]) {
        for name in names {
            let directory = directory(netns: name)
            unlink("\(directory)/\(fileName)")
            rmdir(directory)
        }
    }

    /// The directories under `/etc/netns` that carry the lab's namespace prefix.
    public static func leftovers(of lab: String) -> [String] {
        let prefix = Naming.namespacePrefix(lab: lab)
        return ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// Every directory under `/etc/netns` that looks like a lab's (`lab.<lab>.`…).
    public static func allLabDirectories() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasPrefix("lab.") }.sorted()
    }

    private static func fileError(_ operation: String, _ path: String) -> RuntimeError {
        RuntimeError.io(operation: "cannot \(operation) the pod resolver file", path: path, errno: errno)
    }
}
