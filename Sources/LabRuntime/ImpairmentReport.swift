import LabKernel
import LabPlan
import LabSpec

/// How a lab's `link:` impairments are carried out on this kernel, in the words `lab up`,
/// `lab status` and `lab doctor` use: rate by a token bucket (tbf) or netem's own rate, loss by
/// netfilter's random `statistic` match, delay and jitter by netem — which many kernels lack,
/// and then they are not applied, which is said, never silent.
public struct ImpairmentStatus: Sendable, Codable, Equatable {
    /// `pod/web-1`, `network/wan`, …
    public var object: String
    /// The inner end, `NAMESPACE/LINK`.
    public var link: String
    /// `delay 20ms jitter 5ms loss 1% rate 10mbit`.
    public var settings: String
    /// `rate: tbf, loss: iptables statistic`, and what is not applied.
    public var mechanism: String
}

public enum ImpairmentReport {
    /// What `lab doctor` and the warnings say about delay on a kernel without netem.
    public static let missingNetem = "delay and jitter need sch_netem (CONFIG_NET_SCH_NETEM), which this kernel lacks "
        + "(on Ubuntu: apt-get install linux-modules-extra-$(uname -r))"

    /// One row per impaired link. `netem`: whether the kernel has netem (nil: not known).
    public static func status(_ topology: Topology, netem: Bool?) -> [ImpairmentStatus] {
        (topology.impairments ?? []).map { link in
            ImpairmentStatus(object: link.object, link: "\(link.inner.netns)/\(link.inner.link)",
                             settings: link.impairment.summary, mechanism: mechanism(link.impairment, netem: netem))
        }
    }

    static func mechanism(_ impairment: LinkImpairment, netem: Bool?) -> String {
        var parts: [String] = []
        if impairment.delays {
            switch netem {
            case true?: parts.append("delay: netem" + (impairment.rateBitsPerSecond != nil ? " (with its rate)" : ""))
            case false?: parts.append("delay: NOT APPLIED (no sch_netem)")
                if impairment.rateBitsPerSecond != nil { parts.append("rate: tbf") }
            case nil: parts.append("delay: netem where the kernel has it")
            }
        } else if impairment.rateBitsPerSecond != nil {
            parts.append("rate: tbf")
        }
        if (impairment.loss ?? 0) > 0 { parts.append("loss: iptables statistic") }
        return parts.joined(separator: ", ")
    }

    /// The warning `lab up` prints when the lab asks for delay the kernel cannot give, nil
    /// when there is none to give. `netem` is the apply's answer, or asked for here.
    public static func upWarning(_ topology: Topology) -> String? {
        let delayed = (topology.impairments ?? []).filter(\.impairment.delays)
        guard !delayed.isEmpty else { return nil }
        let netem = NetemSupport.known ?? (try? NetemSupport.probeInScratchNamespace())
        guard netem == false else { return nil }
        let objects = Array(Set(delayed.map(\.object))).sorted().joined(separator: ", ")
        return "warning: delay on \(objects) is not applied: \(missingNetem); rate (tbf) and loss (iptables statistic) are"
    }

    /// Whether netem is there, asked only when some link of the lab wants a delay.
    public static func netemIfNeeded(_ topology: Topology) -> Bool? {
        guard (topology.impairments ?? []).contains(where: \.impairment.delays) else { return nil }
        return NetemSupport.known ?? (try? NetemSupport.probeInScratchNamespace())
    }
}
