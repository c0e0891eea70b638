import Foundation
import LabPlan

/// A lab's state directory, `/run/lab/<lab>/` (tmpfs: cleared at reboot, as namespaces are).
///
/// - `lab.yaml`: the file as applied, byte for byte (what `up` compares to decide "no change")
/// - `topology.json`: every name and address `up` settled (what `status` and `exec` read)
/// - `policy-pods.tsv`: what a change of the policies alone reads of the pods (`PolicyPodsFile`)
/// - `journal`: one namespace name per line, appended and fsync'd *before* the namespace is
///   created, so an interrupted `up` never leaves an object `down` cannot find.
public struct LabState: Sendable {
    public static let defaultRoot = "/run/lab"

    public let lab: String
    public let root: String

    public init(lab: String, root: String = LabState.root) {
        self.lab = lab
        self.root = root
    }

    /// `LAB_RUN_DIR` moves every lab's state elsewhere (tests of the state code use it).
    public static var root: String { ProcessInfo.processInfo.environment["LAB_RUN_DIR"] ?? defaultRoot }

    public var directory: String { "\(root)/\(lab)" }
    public var appliedFilePath: String { "\(directory)/lab.yaml" }
    public var topologyPath: String { "\(directory)/topology.json" }
    public var journalPath: String { "\(directory)/journal" }
    public var supervisorPIDPath: String { "\(directory)/supervisor.pid" }
    public var supervisorLogPath: String { "\(directory)/supervisor.log" }
    /// The supervisor's report: every container's state (`SupervisorReport`).
    public var containersPath: String { "\(directory)/containers.json" }
    public var logsDirectory: String { "\(directory)/logs" }
    /// The service rules loaded into each node, as loaded (`<namespace>.rules`).
    public var rulesDirectory: String { "\(directory)/rules" }
    public func logDirectory(pod: String) -> String { "\(logsDirectory)/\(pod)" }
    /// `/run/lab/<lab>/logs/<pod>/<container>.log` (docs/architecture.md, "State on disk").
    public func logPath(pod: String, container: String) -> String { "\(logDirectory(pod: pod))/\(container).log" }

    /// A node's whole rules of one loader as they were last loaded (`rules/<netns>.<ext>`),
    /// nil when it has none.
    public func savedRules(netns: String, loader: FirewallLoader) -> String? {
        try? String(contentsOfFile: "\(rulesDirectory)/\(netns).\(loader.fileExtension)", encoding: .utf8)
    }

    public func supervisorReport() -> SupervisorReport? {
        guard let data = FileManager.default.contents(atPath: containersPath) else { return nil }
        return try? JSONDecoder().decode(SupervisorReport.self, from: data)
    }
    /// Outside the directory, so `down` can delete the directory while holding the lock.
    public var lockPath: String { "\(root)/.\(lab).lock" }

    public var exists: Bool { FileManager.default.fileExists(atPath: directory) }

    /// Labs that have a state directory, sorted.
    public static func labs(root: String = LabState.root) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return entries.filter { !$0.hasPrefix(".") }.sorted()
    }

    public func createDirectory() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
    }

    public func appliedFile() -> String? { try? String(contentsOfFile: appliedFilePath, encoding: .utf8) }

    /// Whether `text` is the applied file, byte for byte: strings compare by canonical
    /// equivalence, and two spellings of one character are two files.
    public func isAppliedFile(_ text: String) -> Bool {
        appliedFile()?.utf8.elementsEqual(text.utf8) == true
    }

    /// `hadWarnings: false` also marks the text as one that parses without warnings, so an `up`
    /// of the same text can skip parsing it (`isCleanAppliedFile`).
    public func saveAppliedFile(_ text: String, hadWarnings: Bool = true) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: appliedFilePath), options: .atomic)
        if hadWarnings {
            unlink(cleanMarkPath)
        } else {
            try? Data(LabState.cleanMark(text).utf8).write(to: URL(fileURLWithPath: cleanMarkPath), options: .atomic)
        }
    }

    /// Whether `text` is the applied file and was marked as parsing without warnings. The mark
    /// names the text it is for (length and hash), so a stale one never matches another text.
    public func isCleanAppliedFile(_ text: String) -> Bool {
        guard let mark = try? String(contentsOfFile: cleanMarkPath, encoding: .utf8), mark == LabState.cleanMark(text) else {
            return false
        }
        return isAppliedFile(text)
    }

    var cleanMarkPath: String { "\(directory)/lab.yaml.clean" }

    /// `agree: true` marks `text` (the applied file) as cut into the sections its parse found
    /// (`LabFileSections.agrees`), so that a later `up` may compare sections instead of parsing;
    /// false removes the mark. The mark names the text as the clean mark does.
    public func markSections(of text: String, agree: Bool) {
        if agree {
            try? Data(LabState.cleanMark(text).utf8).write(to: URL(fileURLWithPath: sectionsMarkPath), options: .atomic)
        } else {
            unlink(sectionsMarkPath)
        }
    }

    /// Whether `text` was marked by `markSections(of:agree: true)`.
    public func sectionsAgree(_ text: String) -> Bool {
        (try? String(contentsOfFile: sectionsMarkPath, encoding: .utf8)) == LabState.cleanMark(text)
    }

    var sectionsMarkPath: String { "\(directory)/lab.yaml.sections" }

    static func cleanMark(_ text: String) -> String {
        "\(text.utf8.count) \(String(StableHash.fnv1a64([text]), radix: 16))\n"
    }

    public func topology() throws -> Topology {
        try topology(from: topologyData())
    }

    /// `topology.json` as it is on disk.
    func topologyData() throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: topologyPath))
    }

    func topology(from data: Data) throws -> Topology {
        try TopologyFile.decode(data)
    }

    /// What a change of the policies alone reads of the pods (`PolicyPodsFile`).
    var policyPodsPath: String { "\(directory)/\(PolicyPodsFile.fileName)" }

    /// Writes `topology.json`, then `policy-pods.tsv` from it (removed when it cannot be made:
    /// an older one would only be refused, but need not stay).
    public func saveTopology(_ topology: Topology) throws {
        let data = try Self.topologyEncoder().encode(topology)
        try data.write(to: URL(fileURLWithPath: topologyPath), options: .atomic)
        let pods = PolicyPodsFile(topology, savedAs: data)?.encoded()
        if (try? pods?.write(to: URL(fileURLWithPath: policyPodsPath), options: .atomic)) == nil { unlink(policyPodsPath) }
    }

    /// The topology of `data` (`topology.json` as on disk) with its pods as `policy-pods.tsv`
    /// has them (`PolicyPodsFile`: partial); nil when that file is missing, or was not made
    /// from these pods.
    func policyTopology(from data: Data) -> Topology? {
        guard let file = try? Data(contentsOf: URL(fileURLWithPath: policyPodsPath)) else { return nil }
        return PolicyPodsFile.topology(from: data, file: file)
    }

    /// As `saveTopology`, for a lab whose saved topology was `previous`, encoded as
    /// `previousData`: when only the policies changed, the new ones' JSON takes the place of
    /// the old in those bytes (encoding a 1,000-pod topology again costs tens of milliseconds).
    func saveTopology(_ topology: Topology, previous: Topology, previousData: Data) throws {
        guard let data = Self.topologyJSON(topology, changingPoliciesOf: previous, in: previousData) else {
            return try saveTopology(topology)
        }
        try data.write(to: URL(fileURLWithPath: topologyPath), options: .atomic)
    }

    static func topologyEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }

    /// The encoding of `topology` made from `data`, the encoding of `previous`, when the two
    /// differ in their policies alone (both having some); nil otherwise. Only the new policies
    /// are encoded, written as a one-field object `{"policy": VALUE}` has them, in place of the
    /// old field (`TopologyFile.policyField`).
    static func topologyJSON(_ topology: Topology, changingPoliciesOf previous: Topology, in data: Data) -> Data? {
        var same = previous
        same.policy = topology.policy
        guard same == topology, previous.policy != nil, let new = topology.policy else { return nil }
        struct Field: Encodable { var policy: PolicyTopology }
        let open = Data("{\n".utf8), close = Data("\n}".utf8)
        guard let newField = try? topologyEncoder().encode(Field(policy: new)), newField.starts(with: open),
              newField.suffix(close.count) == close, let old = TopologyFile.policyField(data) else { return nil }
        // `\n  "policy" : VALUE`, without the comma after it.
        let newEntry = Data("\n".utf8) + newField.dropFirst(open.count).dropLast(close.count)
        var result = data
        result.replaceSubrange(old.field.lowerBound..<old.value.upperBound, with: newEntry)
        return result
    }

    public func journal() -> Journal { Journal(path: journalPath) }

    public func removeDirectory() throws {
        if exists { try FileManager.default.removeItem(atPath: directory) }
    }
}
