import Foundation
import LabKernel
import LabPlan

/// What `lab` needs from the environment before it touches the kernel; without it
/// `lab` exits 3 (docs/architecture.md, "Exit codes").
public enum EnvironmentError: Error, CustomStringConvertible {
    case missingCapabilities([String])
    case missingKernelFeature(String, howToGet: String)
    case missingTool(String, package: String)

    public var description: String {
        switch self {
        case .missingCapabilities(let names):
            return "lab needs root (\(names.joined(separator: " and ")) missing); run it with sudo"
        case .missingKernelFeature(let feature, let howToGet):
            return "this kernel lacks \(feature); \(howToGet)"
        case .missingTool(let tool, let package):
            return "\(tool) is not installed; install it with `apt-get install \(package)`"
        }
    }
}

public enum Privileges {
    /// CAP_NET_ADMIN (12) creates links and namespaces' contents; CAP_SYS_ADMIN (21) unshares
    /// and bind-mounts namespaces. Read from the effective set, so a capable non-root user works.
    public static func check() throws {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let bits = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16) else {
            if geteuid() == 0 { return }
            throw EnvironmentError.missingCapabilities(["CAP_NET_ADMIN", "CAP_SYS_ADMIN"])
        }
        var missing: [String] = []
        if bits & (1 << 12) == 0 { missing.append("CAP_NET_ADMIN") }
        if bits & (1 << 21) == 0 { missing.append("CAP_SYS_ADMIN") }
        if !missing.isEmpty { throw EnvironmentError.missingCapabilities(missing) }
    }

    /// br_netfilter provides the per-namespace `bridge-nf-call-iptables` switch the plan sets.
    /// Loading a module is one process for the whole run, only when it is missing.
    ///
    /// Loading it is a host-wide change (the root namespace's own bridges then pass iptables
    /// too), so it is announced through `notice`; on most hosts it is loaded already.
    public static func ensureBridgeNetfilter(notice: (String) -> Void = { _ in }) throws {
        let path = "/proc/sys/net/bridge/bridge-nf-call-iptables"
        if FileManager.default.fileExists(atPath: path) { return }
        notice("loading the br_netfilter kernel module (the lab's nodes need it); it stays loaded after the lab")
        // Its own messages go to our terminal; a modprobe that cannot run is the missing
        // feature below.
        _ = try? ChildProcess.spawn(program: "/sbin/modprobe", arguments: ["br_netfilter"],
                                    environment: ProcessInfo.processInfo.environment, stdin: .inherit).wait()
        if !FileManager.default.fileExists(atPath: path) {
            throw EnvironmentError.missingKernelFeature(
                "br_netfilter (bridged pod traffic must pass the node's service rules)",
                howToGet: "load it with `modprobe br_netfilter` (Debian/Ubuntu: package linux-modules-extra-$(uname -r) if it is not found)")
        }
    }
}

extension Privileges {
    /// The loaders a plan needs, found before anything is created (exit 3 otherwise).
    public static func checkTools(for plan: Plan) throws {
        var needed = Set<FirewallLoader>()
        for case .loadFirewall(_, let loader, _) in plan.operations { needed.insert(loader) }
        for loader in needed.sorted(by: { $0.rawValue < $1.rawValue }) {
            let tool = loader.arguments(file: "-")[0]
            if ProgramLookup.resolve(tool) == nil {
                throw EnvironmentError.missingTool(tool, package: loader.package)
            }
        }
        // A change that forgets UDP flows runs conntrack(8).
        let flushes = plan.operations.contains { if case .flushConntrack = $0 { return true } else { return false } }
        if flushes, ProgramLookup.resolve("conntrack") == nil {
            throw EnvironmentError.missingTool("conntrack", package: "conntrack")
        }
    }
}
