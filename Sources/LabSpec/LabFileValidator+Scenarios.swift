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

    private func checkFault(_ fault: ScenarioFault, at path: String, _ d: inout Diagnostics) {
        let networks = lab.networks.map(\.name)
        func checkNetwork(_ name: String, at valuePath: String) {
            guard usable("networks"), !networks.contains(name) else { return }
            let suggestion = EditDistance.suggestion(for: name, among: networks).map { "; did you mean \"\($0)\"?" } ?? ""
            d.error(valuePath, "unknown network \"\(name)\"\(suggestion) (networks: \(Self.list(networks)))")
        }
        func checkMachine(_ target: FaultTarget, at valuePath: String, action: String) {
            switch target {
            case .network(let name):
                if action == "down" {
                    d.error(valuePath, "down takes a pod, node or host; to cut a network off, partition it from the others")
                } else {
                    checkNetwork(name, at: valuePath)
                }
            case .object(let reference):
                switch index.resolve(reference) {
                case .pod, .node, .host: break
                case .service: d.error(valuePath, "\(action) acts on a link: a pod, node, host or network, not a service")
                case .ambiguous(let kinds): d.error(valuePath, ambiguity(reference, kinds))
                case .unknown: if referencesResolvable { d.error(valuePath, unknown(reference)) }
                }
            }
        }
        switch fault.action {
        case .down(let target):
            checkMachine(target, at: "\(path).down", action: "down")
            if fault.notReadyAfterMilliseconds != nil {
                let isNode: Bool
                if case .object(let reference) = target, case .node = index.resolve(reference) { isNode = true } else { isNode = false }
                if !isNode { d.error("\(path).notReadyAfter", "notReadyAfter is for a node that is down (its pods leave the services' endpoints)") }
            }
        case .partition(let a, let b):
            checkNetwork(a, at: "\(path).partition")
            checkNetwork(b, at: "\(path).partition")
            if a == b { d.error("\(path).partition", "a partition is between two different networks, not \"\(a)\" and itself") }
        case .impair(let target, _):
            checkMachine(target, at: "\(path).impair", action: "impair")
        }
    }
}
