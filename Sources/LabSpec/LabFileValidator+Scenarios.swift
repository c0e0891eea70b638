/// Scenarios: unique names, faults whose targets exist and can take that fault, probes checked
/// like the lab's own.
extension LabFileValidator {
    func checkScenarios(_ d: inout Diagnostics) {
        var seen: [String: Int] = [:]
        for (i, scenario) in lab.scenarios.enumerated() {
            let path = "scenarios[\(i)]"
            guard usable(path) else { continue }
            if usable("\(path).name"), !scenario.name.isEmpty {
                if let first = seen[scenario.name] {
                    d.error("\(path).name", "scenario \"\(scenario.name)\" is already the name of scenarios[\(first)]; scenario names are unique (--scenario picks them by name)")
                } else {
                    seen[scenario.name] = i
                }
            }
            for (j, fault) in scenario.faults.enumerated() where usable("\(path).faults[\(j)]") {
                checkFault(fault, at: "\(path).faults[\(j)]", &d)
            }
            checkProbes(scenario.probes, at: "\(path).probes", &d)
        }
    }

    private func checkFault(_ fault: Fault, at path: String, _ d: inout Diagnostics) {
        let networks = lab.networks.map(\.name)
        func checkNetwork(_ name: String, at valuePath: String) {
            guard usable("networks"), !networks.contains(name) else { return }
            d.error(valuePath, "unknown network \"\(name)\"\(EditDistance.hint(for: name, among: networks)) (networks: \(Self.list(networks)))")
        }
        /// The target's resolution, nil for a network.
        func checkMachine(_ target: String, at valuePath: String, action: String) -> ReferenceResolution? {
            if let network = FaultText.networkName(target) {
                checkNetwork(network, at: valuePath)
                return nil
            }
            guard let reference = Reference(target) else { return nil }
            let resolution = index.resolve(reference)
            switch resolution {
            case .pod, .node, .host: break
            case .service: d.error(valuePath, "\(action) acts on a link: a pod, node, host or network, not a service")
            case .ambiguous(let kinds): d.error(valuePath, ambiguity(reference, kinds))
            case .unknown: if referencesResolvable { d.error(valuePath, unknown(reference)) }
            }
            return resolution
        }
        switch fault.kind {
        case .down:
            let resolution = checkMachine(fault.targets[0], at: "\(path).down", action: "down")
            if fault.notReadyAfterMilliseconds != nil {
                let isNode: Bool
                if case .node? = resolution { isNode = true } else { isNode = false }
                if !isNode, referencesResolvable {
                    d.error("\(path).notReadyAfter", "notReadyAfter is for a node that is down (its pods leave the services' endpoints)")
                }
            }
        case .partition:
            for name in fault.targets { checkNetwork(name, at: "\(path).partition") }
        case .impair:
            _ = checkMachine(fault.targets[0], at: "\(path).impair", action: "impair")
        }
    }
}
