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
    /// it, made by `Fault`'s own constructors where they check something (a failed fault is a
    /// placeholder `down` of nothing, marked failed). Whether its targets exist is the
    /// validator's question.
    func fault(_ fields: YAMLFields) -> Fault {
        let placeholder = Fault(kind: .down, targets: [""])
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
        switch entry.key {
        case "down":
            guard let target = faultTarget(entry.value, at: entry.path, network: false) else { return placeholder }
            var fault = Fault(kind: .down, targets: [target])
            if let value = fields["notReadyAfter"], let text = reader.string(value, at: fields.path("notReadyAfter")) {
                do {
                    fault.notReadyAfterMilliseconds = try FaultText.requiredMilliseconds(text, what: "notReadyAfter")
                } catch {
                    reader.fail(fields.path("notReadyAfter"), at: value, error.description)
                }
            }
            return fault
        case "partition":
            guard let names = stringList(entry.value, at: entry.path, of: "networks") else { return placeholder }
            guard names.count == 2 else {
                reader.fail(entry.path, at: entry.value, "a partition is between two networks, like [rack-1, rack-2]; \(names.count) given")
                return placeholder
            }
            do {
                return try Fault.partition(names[0], names[1])
            } catch {
                reader.fail(entry.path, at: entry.value, error.description)
                return placeholder
            }
        default:
            guard let target = faultTarget(entry.value, at: entry.path, network: true) else { return placeholder }
            let impairment = impairment(fields)
            if impairment.isEmpty, !reader.failedPaths.contains(where: { $0.hasPrefix(fields.path + ".") }) {
                reader.fail(entry.path, at: entry.value, "impair needs at least one of delay, jitter, loss or rate, like {impair: \(target), delay: 100ms}")
            }
            return Fault(kind: .impair, targets: [target], impairment: impairment)
        }
    }

    /// A pod, node or host (bare or qualified), or for `impair` also `network/NAME`.
    private func faultTarget(_ node: Node, at path: String, network: Bool) -> String? {
        guard let text = reader.string(node, at: path) else { return nil }
        if network, let name = FaultText.networkName(text), !name.isEmpty { return text }
        if Reference(text) != nil { return text }
        let forms = network ? "a pod, node or host (pod/, node/, host/ and a name) or network/ and a name"
            : "a pod, node or host (pod/, node/, host/ and a name)"
        reader.fail(path, at: node, "\"\(text)\" is not a target here: write \(forms)")
        return nil
    }
}
