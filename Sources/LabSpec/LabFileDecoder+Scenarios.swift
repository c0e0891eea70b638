import Yams

/// Scenarios (`scenarios:`): a name, the faults to put on the lab, the probes to run under them.
extension LabFileDecoder {
    static let scenarioKeys = ["name", "faults", "probes"]
    static let faultActionKeys = ["down", "partition", "impair"]
    static let faultKeys = faultActionKeys + ["notReadyAfter"] + linkKeys

    func scenario(_ fields: YAMLFields) -> ScenarioSpec {
        var scenario = ScenarioSpec(name: requiredString(fields, "name", "the scenario's name, like \"name: node-2 dies\"") ?? "")
        if let node = fields["faults"] {
            scenario.faults = elements(node, at: fields.path("faults"), of: "faults", keys: Self.faultKeys, fault)
        }
        if let node = required(fields, "probes", "the probes that run while the faults are on") {
            scenario.probes = elements(node, at: fields.path("probes"), of: "probes", keys: Self.probeKeys, probe)
        }
        return scenario
    }

    /// One fault: exactly one of `down`, `partition`, `impair`, and only the keys that go with
    /// it (a failed fault is a placeholder `down` of nothing, marked failed).
    func fault(_ fields: YAMLFields) -> ScenarioFault {
        let placeholder = ScenarioFault(.down(.network("")))
        let actions = fields.entries.filter { Self.faultActionKeys.contains($0.key) }
        guard let entry = actions.first else {
            if !reader.failedPaths.contains(fields.path) {
                let position = fields.node.map(reader.position(of:)) ?? reader.diagnostics.sourceMap.position(of: fields.path)
                reader.diagnostics.error(fields.path, at: position,
                                         "a fault needs one of down, partition or impair, like {down: node/node-2}")
            }
            reader.markFailed(fields.path)
            return placeholder
        }
        for extra in actions.dropFirst() {
            reader.diagnostics.error(extra.path, at: reader.position(of: extra.keyNode),
                                     "a fault does one thing, but \"\(entry.key)\" and \"\(extra.key)\" are both given; make them two faults")
            reader.markFailed(fields.path)
        }
        // Keys that belong to another action.
        for other in fields.entries where !Self.faultActionKeys.contains(other.key) {
            let fits = other.key == "notReadyAfter" ? entry.key == "down" : entry.key == "impair"
            if !fits {
                let owner = other.key == "notReadyAfter" ? "down (of a node)" : "impair"
                reader.diagnostics.error(other.path, at: reader.position(of: other.keyNode),
                                         "\"\(other.key)\" goes with \(owner), not with \(entry.key)")
                reader.markFailed(fields.path)
            }
        }
        var fault = placeholder
        switch entry.key {
        case "down":
            guard let target = faultTarget(entry.value, at: entry.path) else { return placeholder }
            fault = ScenarioFault(.down(target))
            if let value = fields["notReadyAfter"] {
                guard let text = reader.string(value, at: fields.path("notReadyAfter")) else { return fault }
                if let milliseconds = DurationText.milliseconds(text) {
                    fault.notReadyAfterMilliseconds = milliseconds
                } else {
                    reader.fail(fields.path("notReadyAfter"), at: value, "\"\(text)\" is not a duration like \"0s\", \"40s\" or \"1m\"")
                }
            }
        case "partition":
            guard let names = stringList(entry.value, at: entry.path, of: "networks") else { return placeholder }
            let networks = names.map { $0.hasPrefix("network/") ? String($0.dropFirst("network/".count)) : $0 }
            guard networks.count == 2 else {
                reader.fail(entry.path, at: entry.value, "a partition is between two networks, like [rack-1, rack-2]; \(networks.count) given")
                return placeholder
            }
            fault = ScenarioFault(.partition(networks[0], networks[1]))
        default:
            guard let target = faultTarget(entry.value, at: entry.path) else { return placeholder }
            let impairment = impairment(fields)
            if impairment.isEmpty, !reader.failedPaths.contains(where: { $0.hasPrefix(fields.path + ".") }) {
                reader.fail(entry.path, at: entry.value, "impair needs at least one of delay, jitter, loss or rate, like {impair: \(target), delay: 100ms}")
            }
            fault = ScenarioFault(.impair(target, impairment))
        }
        return fault
    }

    private func faultTarget(_ node: Node, at path: String) -> FaultTarget? {
        guard let text = reader.string(node, at: path) else { return nil }
        if let target = FaultTarget(text) { return target }
        reader.fail(path, at: node, "\"\(text)\" is not a fault target: write a pod, node or host (pod/, node/, host/ and a name) or network/ and a name")
        return nil
    }
}
