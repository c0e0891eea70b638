import LabSpec

/// One fault in force, as the lab's state records it (`/run/lab/<lab>/faults.json`): the fault
/// with its targets resolved, and its clock. Times are seconds since 1970, so the record is
/// plain data the supervisor and every command read alike.
public struct FaultRecord: Sendable, Hashable, Codable {
    public var fault: Fault
    /// When it was put in force.
    public var since: Double
    /// When the supervisor reverts it (`--for`); nil: until cleared.
    public var expires: Double?
    /// `down node/NAME`: when its pods leave the services' endpoints; nil once they have (or
    /// for any other fault).
    public var notReadyAt: Double?
    /// `down node/NAME`: its pods are out of every service's endpoints.
    public var notReady: Bool

    public init(fault: Fault, since: Double) {
        self.fault = fault
        self.since = since
        expires = fault.durationMilliseconds.map { since + Double($0) / 1000 }
        let notReadyAfter = fault.kind == .down ? fault.notReadyAfterMilliseconds : nil
        notReady = notReadyAfter == 0
        notReadyAt = notReadyAfter.flatMap { $0 > 0 ? since + Double($0) / 1000 : nil }
    }

    /// The next moment the supervisor has something to do for this fault.
    public var nextDeadline: Double? {
        [expires, notReadyAt].compactMap { $0 }.min()
    }
}

/// The faults in force in a lab, in the order they were put in force: what `faults.json`
/// holds, and what `FaultPlan.transition` moves the kernel between.
public struct FaultSet: Sendable, Hashable, Codable {
    public var records: [FaultRecord]

    public init(_ records: [FaultRecord] = []) { self.records = records }

    public var isEmpty: Bool { records.isEmpty }

    /// `record` in force: a fault with the same key is replaced (it keeps its place), never
    /// stacked.
    public func replacing(with record: FaultRecord) -> FaultSet {
        var next = records
        if let index = next.firstIndex(where: { $0.fault.key == record.fault.key }) {
            next[index] = record
        } else {
            next.append(record)
        }
        return FaultSet(next)
    }

    /// Without the faults `matches` picks.
    public func removing(where matches: (FaultRecord) -> Bool) -> FaultSet {
        FaultSet(records.filter { !matches($0) })
    }

    /// The earliest moment the supervisor must act (an expiry, a node turning not ready).
    public var nextDeadline: Double? { records.compactMap(\.nextDeadline).min() }

    /// The set as it is at `now`: expired faults gone, nodes whose grace period is over not
    /// ready. Unchanged when nothing is due.
    public func advanced(to now: Double) -> FaultSet {
        var next: [FaultRecord] = []
        for var record in records {
            if let expires = record.expires, expires <= now { continue }
            if let due = record.notReadyAt, due <= now {
                record.notReadyAt = nil
                record.notReady = true
            }
            next.append(record)
        }
        return FaultSet(next)
    }

    /// The nodes whose pods are out of the services' endpoints.
    public var notReadyNodes: Set<String> {
        Set(records.filter { $0.fault.kind == .down && $0.notReady }.compactMap { record in
            record.fault.targets.first.flatMap { $0.hasPrefix("node/") ? String($0.dropFirst("node/".count)) : nil }
        })
    }
}
