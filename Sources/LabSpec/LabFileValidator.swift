/// Checks what decoding cannot: the rules between objects of a lab file
/// (docs/architecture.md, "The lab file" and "Probes").
/// Names are DNS labels and unique; addresses lie in their ranges and are not taken twice;
/// references resolve; service and probe settings agree with each other.
///
/// It only judges values that decoded: a path in `DecodedLabFile.failedPaths` already has its
/// error, and a placeholder there would only produce a second, misleading one.
struct LabFileValidator {
    let decoded: DecodedLabFile
    let index: ObjectIndex

    init(file: DecodedLabFile) {
        decoded = file
        index = ObjectIndex(file.lab)
    }

    var lab: LabFile { decoded.lab }

    func validate(into diagnostics: inout Diagnostics) {
        checkNames(&diagnostics)
        checkCluster(&diagnostics)
        checkNetworks(&diagnostics)
        checkUnderlayMachines(&diagnostics)
        checkNodePodCIDRs(&diagnostics)
        checkPods(&diagnostics)
        checkServices(&diagnostics)
        checkClusterDNS(&diagnostics)
        checkProbes(&diagnostics)
        checkPolicies(&diagnostics)
        checkScenarios(&diagnostics)
        if lab.nodes.isEmpty, usable("nodes") {
            diagnostics.error("nodes", "a lab needs at least one node; add for example \"nodes: [{name: node-1}]\"")
        }
    }

    // MARK: Helpers shared by the checks

    /// Whether the value at `path` decoded and may be judged.
    func usable(_ path: String) -> Bool { !decoded.failed(path) }

    /// Whether every list a reference could name decoded; if one did not, "unknown" would
    /// blame the reference for the list's problem.
    var referencesResolvable: Bool { ["nodes", "pods", "hosts", "services"].allSatisfy(usable) }

    /// Whether the file wrote `path` (rather than it taking its default).
    func written(_ path: String) -> Bool { lab.sourceMap.positions[path] != nil }

    /// `node-1, node-2, … and 12 more`: enough names to jog the memory without a wall of text.
    static func list(_ names: [String], limit: Int = 8) -> String {
        var seen: Set<String> = []
        let names = names.filter { seen.insert($0).inserted }
        guard names.count > limit else { return names.joined(separator: ", ") }
        return names.prefix(limit).joined(separator: ", ") + ", … and \(names.count - limit) more"
    }

    /// `app=web,tier=front`, sorted so the message is the same on every run.
    static func selectorText(_ selector: [String: String]) -> String {
        selector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
}
