import Foundation
import LabPlan

/// What part of an apply an operation's time is charged to (`lab up --timings`).
public enum ApplyPhase: String, Sendable, CaseIterable {
    case namespaces
    case sysctls
    case links
    case linkSettings = "link settings"
    case addresses
    case routes
    case neighbours
    case overlayEntries = "overlay entries"
    case serviceRules = "service rules"
    case removedNamespaces = "removed namespaces"
    case removals
    case conntrack

    public init(of operation: KernelOperation) {
        switch operation {
        case .createNetns: self = .namespaces
        case .setSysctl: self = .sysctls
        case .addBridge, .addVeth, .addVxlan: self = .links
        case .setMaster, .setHairpin, .setAddrGenModeNone, .setUp, .setDown, .replaceQdisc: self = .linkSettings
        case .addAddress: self = .addresses
        case .addRoute: self = .routes
        case .addNeighbor: self = .neighbours
        case .addForwardingEntry: self = .overlayEntries
        case .loadFirewall: self = .serviceRules
        case .deleteNetns: self = .removedNamespaces
        case .deleteLink, .clearMaster, .deleteAddress, .deleteRoute, .deleteNeighbor, .deleteForwardingEntry, .forgetNeighbor,
             .deleteQdisc:
            self = .removals
        case .flushConntrack: self = .conntrack
        }
    }

    /// The kernel handles a datagram as a whole, so its time is shared among the operations in
    /// it by their usual cost: creating a link costs about six times a link setting, an
    /// address or a route.
    var weight: Double { self == .links ? 6 : 1 }

    /// What the progress line counts it under: coarser, since a pod's links, addresses and
    /// routes alternate.
    var progress: ProgressPhase {
        switch self {
        case .namespaces: return .namespaces
        case .sysctls: return .sysctls
        case .serviceRules: return .serviceRules
        case .removedNamespaces: return .removals
        case .conntrack: return .conntrack
        case .links, .linkSettings, .addresses, .routes, .neighbours, .overlayEntries, .removals: return .links
        }
    }
}

/// A phase of `up`'s progress line, with what it counts.
enum ProgressPhase: String, Sendable {
    case namespaces
    case sysctls
    case links
    case serviceRules = "service rules"
    case removals
    case conntrack

    var unit: String {
        switch self {
        case .namespaces: return ""
        case .sysctls: return "settings"
        case .serviceRules: return "nodes"
        case .links, .removals: return "changes"
        case .conntrack: return "flushes"
        }
    }
}

/// Where the time of an apply went, by phase, for `lab up`'s summary and `--timings`.
public struct PhaseTimings: Sendable {
    public private(set) var phases: [(name: String, seconds: Double, count: Int)] = []

    public init() {}

    public mutating func add(_ phase: ApplyPhase, since start: DispatchTime, count: Int) {
        add(phase.rawValue, since: start, count: count)
    }

    /// A phase outside the plan's operations (`containers`).
    public mutating func add(_ name: String, since start: DispatchTime, count: Int) {
        add(seconds: Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9, to: name, count: count)
    }

    /// Charges `seconds` measured elsewhere to the phase `name`.
    public mutating func add(seconds: Double, to name: String, count: Int) {
        if let index = phases.firstIndex(where: { $0.name == name }) {
            phases[index].seconds += seconds
            phases[index].count += count
        } else {
            phases.append((name, seconds, count))
        }
    }

    /// Charges `nanoseconds` that ended now to `phase`.
    mutating func add(_ phase: ApplyPhase, nanoseconds: UInt64, count: Int) {
        let now = DispatchTime.now().uptimeNanoseconds
        add(phase, since: DispatchTime(uptimeNanoseconds: now - min(now, nanoseconds)), count: count)
    }
}
