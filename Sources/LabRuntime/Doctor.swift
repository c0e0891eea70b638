import Foundation
import LabKernel
import LabPlan

/// What `lab doctor` checks: privileges, kernel features, tools, and leftovers of labs that
/// crashed (namespaces without state, state without namespaces, supervisors of labs that are gone).
public enum Doctor {
    public struct Finding: Sendable {
        public enum Level: String, Sendable { case ok = "ok", warning = "warn", problem = "FAIL" }
        public var level: Level
        public var check: String
        public var detail: String
    }

    public static func run() -> [Finding] {
        hostFindings() + neighbourTable(limits: NeighbourTableLimits.read(), counters: NeighbourTableCounters.read()) + leftovers()
    }

    /// Privileges, the kernel's features, the tools lab calls.
    private static func hostFindings() -> [Finding] {
        var findings: [Finding] = []
        func add(_ level: Finding.Level, _ check: String, _ detail: String) {
            findings.append(Finding(level: level, check: check, detail: detail))
        }
        do {
            try Privileges.check()
            add(.ok, "privileges", "CAP_NET_ADMIN and CAP_SYS_ADMIN")
        } catch {
            add(.problem, "privileges", "\(error)")
        }

        let kernelRelease = (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
        add(.ok, "kernel", kernelRelease)
        if FileManager.default.fileExists(atPath: "/proc/sys/net/bridge/bridge-nf-call-iptables") {
            add(.ok, "br_netfilter", "loaded")
        } else {
            add(.warning, "br_netfilter", "not loaded; lab up loads it (modprobe br_netfilter)")
        }
        let modules = (try? String(contentsOfFile: "/proc/modules", encoding: .utf8)) ?? ""
        let builtIn = (try? String(contentsOfFile: "/lib/modules/\(kernelRelease)/modules.builtin", encoding: .utf8)) ?? ""
        // veth and bridge are built into every kernel lab can run on; vxlan is often a module.
        for module in ["vxlan"] {
            if modules.contains("\(module) ") || builtIn.contains("/\(module).ko") || FileManager.default.fileExists(atPath: "/sys/module/\(module)") {
                add(.ok, module, "available")
            } else if FileManager.default.fileExists(atPath: "/lib/modules/\(kernelRelease)") {
                add(.ok, module, "loadable (the kernel loads it when a lab needs it)")
            } else {
                add(.warning, module, "not found; `network: vxlan` labs will fail (Debian: linux-modules-extra-$(uname -r))")
            }
        }
        for (tool, package, use) in [("iptables-restore", "iptables", "iptables proxy mode"), ("nft", "nftables", "nftables proxy mode"),
                                     ("ip", "iproute2", "inspection and --dry-run scripts"), ("conntrack", "conntrack", "inspecting NAT")] {
            if ProgramLookup.resolve(tool) != nil {
                add(.ok, tool, "found (\(use))")
            } else {
                add(.warning, tool, "missing (\(use)); apt-get install \(package)")
            }
        }

        switch try? NetemSupport.probeInScratchNamespace() {
        case true?: add(.ok, "impairments", "delay and jitter: netem, rate: tbf, loss: iptables statistic")
        case false?: add(.ok, "impairments", "delay and jitter: delay line (NFQUEUE), rate: tbf, loss: iptables statistic; " + ImpairmentReport.missingNetem)
        case nil: add(.warning, "impairments", "could not ask the kernel for netem (needs root)")
        }
        return findings
    }

    /// What labs left behind: namespaces, state or resolver files without the rest, an
    /// interrupted `lab up`, a supervisor of a lab that is gone.
    private static func leftovers() -> [Finding] {
        var findings: [Finding] = []
        func add(_ level: Finding.Level, _ check: String, _ detail: String) {
            findings.append(Finding(level: level, check: check, detail: detail))
        }
        let withState = Set(LabState.labs())
        let withNamespaces = countByLab(NetworkNamespace.list().filter { $0.hasPrefix("lab.") })
        let withResolverFiles = countByLab(ResolverFiles.allLabDirectories())
        for lab in Set(withNamespaces.keys).union(withState).union(withResolverFiles.keys).sorted() {
            let state = LabState(lab: lab)
            let count = withNamespaces[lab] ?? 0
            if count == 0, !withState.contains(lab), let files = withResolverFiles[lab] {
                add(.warning, "lab \(lab)", "\(files) pod resolver directories in \(ResolverFiles.root) but no namespaces (a crashed lab); remove with lab down \(lab)")
            } else if !withState.contains(lab) {
                add(.warning, "lab \(lab)", "\(count) namespaces but no state (a crashed lab); remove with lab down \(lab)")
            } else if count == 0 {
                add(.warning, "lab \(lab)", "state but no namespaces (removed behind lab's back?); remove with lab down \(lab)")
            } else if state.appliedFile() == nil {
                add(.warning, "lab \(lab)", "an interrupted lab up; run lab up again or lab down \(lab)")
            } else {
                add(.ok, "lab \(lab)", "up, \(count) namespaces")
            }
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for pid in entries.compactMap(Int32.init) {
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard arguments.count == 3, (arguments[0] as NSString).lastPathComponent == "lab", arguments[1] == "supervise" else { continue }
            if withNamespaces[arguments[2]] == nil {
                add(.warning, "supervisor \(pid)", "of lab \(arguments[2]), which has no namespaces; remove with lab down \(arguments[2])")
            }
        }
        return findings
    }

    /// How many of `names` (`lab.NAME.…`, as namespaces and resolver directories are named)
    /// belong to each lab.
    private static func countByLab(_ names: [String]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for name in names {
            let parts = name.split(separator: ".")
            if parts.count >= 3 { counts[String(parts[1]), default: 0] += 1 }
        }
        return counts
    }

    /// The host's neighbour table, which every namespace of every lab shares: its thresholds,
    /// the entries in use and how often it was full. Flagged when the entries in use come near
    /// `gc_thresh3` (three quarters of it) or the table has been full.
    static func neighbourTable(limits: NeighbourTableLimits?, counters: NeighbourTableCounters?) -> [Finding] {
        let grouped = NumberText.grouped
        guard let limits else {
            return [Finding(level: .warning, check: "neighbour table",
                            detail: "\(NeighbourTableLimits.directory)/gc_thresh* cannot be read (run lab doctor in the host's root namespace)")]
        }
        var findings = [Finding(level: .ok, check: "neighbour table",
                                detail: "gc_thresh1 \(grouped(limits.gcThresh1)), gc_thresh2 \(grouped(limits.gcThresh2)), "
                                    + "gc_thresh3 \(grouped(limits.gcThresh3)) (one table for every namespace of the host)")]
        guard let counters else {
            findings.append(Finding(level: .warning, check: "neighbour entries", detail: "\(NeighbourTableCounters.path) cannot be read"))
            return findings
        }
        let remedy = "labs in arp mode may lose packets; use cluster.neighbours: static (or auto), "
            + "or raise net.ipv4.neigh.default.gc_thresh3 (root namespace)"
        let entries = "\(grouped(counters.entries)) in use (permanent ones included, which do not count against gc_thresh3)"
        if counters.entries * 4 >= limits.gcThresh3 * 3 {
            findings.append(Finding(level: .warning, check: "neighbour entries",
                                    detail: "\(entries): near gc_thresh3 \(grouped(limits.gcThresh3)); \(remedy)"))
        } else {
            findings.append(Finding(level: .ok, check: "neighbour entries", detail: entries))
        }
        if counters.tableFulls > 0 {
            findings.append(Finding(level: .warning, check: "neighbour overflows",
                                    detail: "the table was full \(grouped(counters.tableFulls)) times since boot (table_fulls); \(remedy)"))
        } else {
            findings.append(Finding(level: .ok, check: "neighbour overflows", detail: "0 (table_fulls: never full since boot)"))
        }
        return findings
    }
}
