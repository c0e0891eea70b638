import LabKernel
import LabPlan
import LabSpec

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
    public static let missingNetem = "no sch_netem (CONFIG_NET_SCH_NETEM) in this kernel, so delay and jitter use the delay line "
        + "(NFQUEUE, served by the lab's supervisor); for netem on Ubuntu: apt-get install linux-modules-extra-$(uname -r)"

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

    /// How delay is carried out on this kernel, nil when no link of `topology` delays. A lab
    /// that is up keeps what it was built with (`running`); otherwise the kernel is asked
    /// (once per process). Without root the kernel cannot be asked: nil, which plans netem
    /// (`up --dry-run` says so).
    public static func delayMechanism(for topology: Topology, running: Topology?) -> DelayMechanism? {
        guard (topology.impairments ?? []).contains(where: \.impairment.delays) else { return nil }
        if let kept = running?.delayMechanism { return kept }
        guard let netem = NetemSupport.known ?? (try? NetemSupport.probeInScratchNamespace()) else { return nil }
        return netem ? .netem : .delayLine
    }
}
