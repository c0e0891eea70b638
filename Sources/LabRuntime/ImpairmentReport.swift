import Foundation
import LabKernel
import LabPlan
import LabSpec
import Synchronization

/// How a lab's `link:` impairments are carried out on this kernel, in the words `lab up`,
/// `lab status` and `lab doctor` use: rate by a token bucket (tbf) or netem's own rate, loss by
/// netfilter's random `statistic` match, delay and jitter by netem or, on a kernel without it,
/// by the supervisor's delay line (NFQUEUE).
public struct ImpairmentStatus: Sendable, Codable, Equatable {
    /// `pod/web-1`, `network/wan`, …
    public var object: String
    /// The inner end, `NAMESPACE/LINK`.
    public var link: String
    /// `delay 20ms jitter 5ms loss 1% rate 10mbit`.
    public var settings: String
    /// `delay: delay line (NFQUEUE), rate: tbf, loss: iptables statistic`.
    public var mechanism: String
}

public enum ImpairmentReport {
    /// What `lab doctor` says about delay on a kernel without netem.
    public static let missingNetem = "this kernel has no sch_netem (CONFIG_NET_SCH_NETEM), so each lab's supervisor serves the "
        + "delay line; for netem on Ubuntu: apt-get install linux-modules-extra-$(uname -r)"

    /// One row per impaired link.
    public static func status(_ topology: Topology) -> [ImpairmentStatus] {
        (topology.impairments ?? []).map { link in
            ImpairmentStatus(object: link.object, link: "\(link.inner.netns)/\(link.inner.link)",
                             settings: link.impairment.summary,
                             mechanism: mechanism(link.impairment, delay: topology.delayMechanism ?? .netem))
        }
    }

    static func mechanism(_ impairment: LinkImpairment, delay: DelayMechanism) -> String {
        var parts: [String] = []
        if impairment.delays {
            parts.append("delay: \(delay.description)")
            switch delay {
            case .netem: if impairment.rateBitsPerSecond != nil { parts[0] += " (with its rate)" }
            case .delayLine: if impairment.rateBitsPerSecond != nil { parts.append("rate: tbf") }
            }
        } else if impairment.rateBitsPerSecond != nil {
            parts.append("rate: tbf")
        }
        if (impairment.loss ?? 0) > 0 { parts.append("loss: iptables statistic") }
        return parts.joined(separator: ", ")
    }

    /// The warning for a delay that will not be given, nil when every delay of `topology` is:
    /// on the delay line, a lab whose supervisor is not running has nothing serving the queues,
    /// and their rules drop what they queue until a supervisor runs (`lab up` starts one).
    public static func upWarning(_ topology: Topology) -> String? {
        let queues = ImpairmentPlan.delayQueues(topology)
        guard !queues.isEmpty, SupervisorProcess.running(lab: topology.lab, state: LabState(lab: topology.lab)) == nil else { return nil }
        let objects = Array(Set(queues.map(\.object))).sorted().joined(separator: ", ")
        return "warning: delay on \(objects) is for the delay line (NFQUEUE), but lab \(topology.lab) has no supervisor running to serve it: "
            + "the link drops IP packets until one runs (lab up \(topology.lab)'s file again starts it)"
    }

    /// How delay is carried out on this kernel, settled for every lab (a fault may delay a
    /// link of a lab whose file delays none). A lab that is up keeps what it was built with
    /// (`running`); otherwise the kernel is asked (once per process). Without root the kernel
    /// cannot be asked: nil, which plans netem (`up --dry-run` says so).
    ///
    /// The kernel's own configuration (`/proc/config.gz`) settles it where it can: netem built
    /// in, or not configured at all. A module (`=m`) may not be installed (Ubuntu keeps it in
    /// `linux-modules-extra`), so then only asking the kernel tells — which `askKernel` false
    /// (`lab validate`, `up --dry-run`, which change nothing) does not do: it plans netem.
    public static func delayMechanism(for topology: Topology, running: Topology?, askKernel: Bool = true) -> DelayMechanism? {
        if let kept = running?.delayMechanism { return kept }
        let netem: Bool?
        if let known = NetemSupport.known {
            netem = known
        } else {
            switch kernelConfigNetem() {
            case .builtIn: netem = true
            case .absent: netem = false
            case .module: netem = askKernel ? (try? NetemSupport.probeInScratchNamespace()) : true
            case nil: netem = askKernel ? (try? NetemSupport.probeInScratchNamespace()) : nil
            }
        }
        return netem.map { $0 ? .netem : .delayLine }
    }

    enum ConfiguredNetem { case builtIn, module, absent }

    /// `CONFIG_NET_SCH_NETEM` in `/proc/config.gz`; nil when the kernel does not publish its
    /// configuration. Read once per process.
    static func kernelConfigNetem() -> ConfiguredNetem? {
        configAnswer.withLock { answer in
            if let answer { return answer }
            guard FileManager.default.fileExists(atPath: "/proc/config.gz"), let gzip = ProgramLookup.resolve("gzip") else { return nil }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: gzip)
            process.arguments = ["-dc", "/proc/config.gz"]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { return nil }
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0, text.contains("CONFIG_NET_SCHED") else { return nil }
            let found: ConfiguredNetem = text.contains("CONFIG_NET_SCH_NETEM=y") ? .builtIn
                : text.contains("CONFIG_NET_SCH_NETEM=m") ? .module : .absent
            answer = found
            return found
        }
    }

    private static let configAnswer = Mutex<ConfiguredNetem??>(nil)
}
