/// A fault put into a lab that is up: a link taken down, two networks cut apart, a link
/// impaired. The same value comes from the command line (`lab fault down node/node-2`) and from
/// a lab file's scenarios (`{down: node/node-2, notReadyAfter: 0s}`); both build it with the
/// constructors below, which check everything that can be checked without the lab. Whether the
/// targets exist is the plan's question (`FaultPlan.resolve`).
public struct Fault: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        /// The link of a pod, node or host down (both ends of its veth); a node's pods with it.
        case down
        /// The fabric stops forwarding between two networks.
        case partition
        /// Delay, jitter, loss, rate on a link, in both directions, as `link:` in the file.
        case impair

        /// The kinds of object this fault is put on (`pod` as in `pod/NAME`), in the order
        /// messages list them.
        public var targetKinds: [String] {
            switch self {
            case .down: ["pod", "node", "host"]
            case .impair: ["pod", "node", "host", "network"]
            case .partition: ["network"]
            }
        }
    }

    public var kind: Kind
    /// `down`, `impair`: one target (`pod/NAME`, `node/NAME`, `host/NAME`, and for `impair`
    /// also `network/NAME`; a bare name until resolved). `partition`: two network names, sorted.
    public var targets: [String]
    /// `impair` only.
    public var impairment: LinkImpairment?
    /// How long the fault lasts before the supervisor reverts it; nil until cleared.
    public var durationMilliseconds: Int?
    /// `down node/NAME` only: how long after the node went down its pods leave every service's
    /// endpoints (Kubernetes' node monitor grace period; 0 at once).
    public var notReadyAfterMilliseconds: Int?

    /// Kubernetes' `--node-monitor-grace-period` before 1.32: 40 s without a heartbeat and the
    /// node's pods are no longer ready.
    public static let defaultNotReadyAfterMilliseconds = 40_000
    /// The longest `--for` and `--not-ready-after`: a day (a lab is not meant to live longer).
    public static let longestMilliseconds = 86_400_000

    /// What makes two faults the same fault: a second one with the same key replaces the first
    /// (`down node/node-1`, `impair pod/web-1`, `partition rack-1 rack-2`).
    public var key: String { "\(kind.rawValue) \(targets.joined(separator: " "))" }

    /// `down node/node-1 (not ready after 40s) for 2s`, as `lab fault list` shows it.
    public var summary: String {
        var text = key
        if let impairment { text += ": \(impairment.summary)" }
        if let notReadyAfterMilliseconds { text += " (not ready after \(FaultText.duration(notReadyAfterMilliseconds)))" }
        if let durationMilliseconds { text += " for \(FaultText.duration(durationMilliseconds))" }
        return text
    }

    /// `lab fault down TARGET`: `notReadyAfter` and `lasting` are durations as written (`40s`,
    /// `500ms`, `0`). A node gets the default grace period when none is given; a pod or host has
    /// no endpoints to take away, so giving it one is an error.
    public static func down(_ target: String, notReadyAfter: String? = nil, lasting: String? = nil) throws(FaultInputError) -> Fault {
        let reference = try FaultText.target(target, allowed: Kind.down.targetKinds, verb: "down")
        if notReadyAfter != nil, let kind = reference.kind, kind != "node" {
            throw FaultInputError("--not-ready-after is for a node (node/NAME): a \(kind) has no endpoints of its own to lose")
        }
        let notReady = try FaultText.milliseconds(notReadyAfter, what: "not-ready-after")
        var fault = Fault(kind: .down, targets: [reference.text], durationMilliseconds: try FaultText.milliseconds(lasting, what: "for"),
                          notReadyAfterMilliseconds: notReady)
        if let kind = reference.kind { fault.settleNotReady(targetKind: kind) }
        return fault
    }

    /// The grace period once the target's kind (`node`, `pod`, …) is known: a node that is
    /// down gets the default unless one was given; anything else has none (a pod or host has
    /// no endpoints of its own to lose). Only `down` has one.
    public mutating func settleNotReady(targetKind: String) {
        guard kind == .down else { return }
        notReadyAfterMilliseconds = targetKind == "node" ? notReadyAfterMilliseconds ?? Self.defaultNotReadyAfterMilliseconds : nil
    }

    /// `lab fault partition NETWORK NETWORK` (`network/NAME` is accepted too).
    public static func partition(_ first: String, _ second: String, lasting: String? = nil) throws(FaultInputError) -> Fault {
        let a = try FaultText.network(first), b = try FaultText.network(second)
        guard a != b else {
            throw FaultInputError("cannot partition network \(a) from itself; name two different networks")
        }
        return Fault(kind: .partition, targets: [a, b].sorted(),
                     durationMilliseconds: try FaultText.milliseconds(lasting, what: "for"))
    }

    /// `lab fault impair TARGET --delay … --jitter … --loss … --rate …`, each value as in a
    /// file's `link:` (`20ms`, `1%`, `10mbit`), with the same checks.
    public static func impair(_ target: String, delay: String? = nil, jitter: String? = nil, loss: String? = nil, rate: String? = nil,
                              lasting: String? = nil) throws(FaultInputError) -> Fault {
        let reference = try FaultText.target(target, allowed: Kind.impair.targetKinds, verb: "impair")
        var impairment = LinkImpairment()
        for (field, text) in zip(LinkImpairment.fields, [delay, jitter, loss, rate]) {
            guard let text else { continue }
            if let problem = field.set(text, in: &impairment) { throw FaultInputError(problem) }
        }
        if jitter != nil, delay == nil {
            throw FaultInputError("jitter needs a delay to vary; add --delay (like --delay 20ms) or remove --jitter")
        }
        guard !impairment.isEmpty else {
            throw FaultInputError("impair \(target) asks for nothing; give --delay, --jitter, --loss or --rate with a value above zero (like --delay 20ms)")
        }
        return Fault(kind: .impair, targets: [reference.text], impairment: impairment,
                     durationMilliseconds: try FaultText.milliseconds(lasting, what: "for"))
    }
}

/// Input a fault cannot be made of; its description is the one line `lab` prints.
public struct FaultInputError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The words of a fault's arguments: targets and durations.
public enum FaultText {
    /// `kind/name` or a bare name; the kind must be one of `allowed`.
    static func target(_ text: String, allowed: [String], verb: String) throws(FaultInputError) -> (kind: String?, text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let forms = allowed.map { "\($0)/NAME" }.joined(separator: ", ")
        switch parts.count {
        case 1 where !parts[0].isEmpty:
            return (nil, text)
        case 2 where !parts[0].isEmpty && !parts[1].isEmpty:
            guard allowed.contains(parts[0]) else {
                let hint = EditDistance.suggestion(for: parts[0], among: allowed).map { "; did you mean \($0)/\(parts[1])?" } ?? ""
                throw FaultInputError("cannot \(verb) \"\(text)\": \(verb) takes \(forms)\(hint)")
            }
            return (parts[0], text)
        default:
            throw FaultInputError("\"\(text)\" is not a target; \(verb) takes \(forms)")
        }
    }

    /// The network a `network/NAME` target names; nil for a target of any other kind.
    static func networkName(_ target: String) -> String? {
        target.hasPrefix("network/") ? String(target.dropFirst("network/".count)) : nil
    }

    /// A network's name, bare or as `network/NAME`.
    static func network(_ text: String) throws(FaultInputError) -> String {
        let name = networkName(text) ?? text
        guard !name.isEmpty, !name.contains("/") else {
            throw FaultInputError("\"\(text)\" is not a network; partition takes two network names (like rack-1 rack-2)")
        }
        return name
    }

    /// `milliseconds(_:what:)` of text that may be absent.
    static func milliseconds(_ text: String?, what: String) throws(FaultInputError) -> Int? {
        guard let text else { return nil }
        return try requiredMilliseconds(text, what: what)
    }

    /// Whole milliseconds of `2s`, `500ms`, `1m`, or `0`.
    public static func requiredMilliseconds(_ text: String, what: String) throws(FaultInputError) -> Int {
        if text == "0" { return 0 }
        if text.hasPrefix("-") { throw FaultInputError("\(what) \(text) is negative; write a duration like 30s") }
        guard let value = DurationText.milliseconds(text) else {
            throw FaultInputError("\(what) \"\(text)\" is not a duration; write one like 30s, 500ms or 2m")
        }
        guard value <= Fault.longestMilliseconds else { throw FaultInputError("\(what) \(text) is out of range 0s to 24h") }
        return value
    }

    /// `40s`, `1500ms`, `2m`: the largest unit that keeps the value whole.
    public static func duration(_ milliseconds: Int) -> String {
        if milliseconds != 0, milliseconds % 60_000 == 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }
}
