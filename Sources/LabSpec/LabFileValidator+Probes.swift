import LabAddress

/// Probes (docs/architecture.md, "Probes"): the right ends for the kind, references that resolve,
/// expectations that can be observed by that kind of probe.
extension LabFileValidator {
    func checkProbes(_ d: inout Diagnostics) { checkProbes(lab.probes, at: "probes", &d) }

    /// The probes of a list (`probes`, or a scenario's `scenarios[0].probes`).
    func checkProbes(_ probes: [ProbeSpec], at listPath: String, _ d: inout Diagnostics) {
        for (i, probe) in probes.enumerated() {
            let path = "\(listPath)[\(i)]"
            guard usable(path) else { continue }
            checkProbeShape(probe, at: path, &d)
            if let from = probe.from, usable("\(path).from") {
                checkSource(from, at: "\(path).from", &d)
                checkResolverSource(probe, from: from, at: path, &d)
            }
            if case .object(let reference)? = probe.to, usable("\(path).to") {
                checkTarget(reference, of: probe, probePath: path, at: "\(path).to", &d)
            }
            if let matrix = probe.matrix, usable("\(path).matrix") { checkMatrix(matrix, of: probe, probePath: path, &d) }
            checkNodePort(probe, at: path, &d)
            checkExpect(probe, at: path, &d)
        }
    }

    private func kindKnown(_ path: String) -> Bool { usable("\(path).kind") }

    /// exec runs in one place; every other kind goes from somewhere to somewhere, either once
    /// (`from`/`to`) or for every pair of a `matrix`.
    private func checkProbeShape(_ probe: ProbeSpec, at path: String, _ d: inout Diagnostics) {
        let hasFrom = written("\(path).from"), hasTo = written("\(path).to"), hasMatrix = written("\(path).matrix")
        if hasMatrix, hasFrom || hasTo {
            d.keyError("\(path).matrix", "a probe has either from and to, or a matrix, not both")
        }
        guard kindKnown(path) else { return }
        if case .dns = probe.kind {
            if hasTo { d.keyError("\(path).to", "a dns probe asks the source pod's nameserver (the cluster DNS) and has no \"to\"; the name goes in dns.name") }
            if hasMatrix { d.keyError("\(path).matrix", "a dns probe runs in one pod: give it \"from\", not a matrix") }
            if !hasFrom, !hasMatrix { d.error(path, "missing required key \"from\" (the pod whose resolver asks)") }
            return
        }
        if case .exec = probe.kind {
            if hasTo { d.keyError("\(path).to", "an exec probe runs its command in \"from\" and has no \"to\"") }
            if hasMatrix { d.keyError("\(path).matrix", "an exec probe runs in one place: give it \"from\", not a matrix") }
            if !hasFrom, !hasMatrix { d.error(path, "missing required key \"from\" (the pod, node or host the command runs in)") }
            return
        }
        guard !hasMatrix else { return }
        if !hasFrom { d.error(path, "missing required key \"from\" (the pod, node or host the probe starts from)") }
        if !hasTo { d.error(path, "missing required key \"to\" (a pod, service, node, host, IPv4 address or DNS name)") }
    }

    /// A name is resolved the way the source pod resolves it, through its resolv.conf and the
    /// cluster DNS: nodes and hosts keep the host's resolver, which knows no cluster names.
    private func checkResolverSource(_ probe: ProbeSpec, from: Reference, at path: String, _ d: inout Diagnostics) {
        let byName: String, namePath: String
        if case .dns = probe.kind, kindKnown(path) {
            (byName, namePath) = ("a dns probe", "\(path).dns")
        } else if case .name(let name)? = probe.to, usable("\(path).to") {
            (byName, namePath) = ("a probe to the name \"\(name)\"", "\(path).to")
        } else {
            return
        }
        if lab.cluster.dns == nil, usable("cluster.dns") {
            d.error(namePath, "\(byName) needs the cluster DNS, but the lab turns it off (cluster.dns: false); remove that, or name the target (service/…, a pod, an address)")
        }
        switch index.resolve(from) {
        case .node, .host:
            d.error("\(path).from", "\(byName) runs from a pod: only pods use the cluster DNS (nodes and hosts keep the host's resolver)")
        case .pod, .service, .ambiguous, .unknown:
            break
        }
    }

    /// A probe starts in a namespace of the lab: a pod, node or host.
    private func checkSource(_ reference: Reference, at path: String, _ d: inout Diagnostics) {
        if reference.kind == nil, IPv4Address(reference.name) != nil {
            d.error(path, "a probe runs from a pod, node or host, not from an address")
            return
        }
        switch index.resolve(reference) {
        case .pod, .node, .host: break
        case .service: d.error(path, "a probe runs from a pod, node or host, not from a service")
        case .ambiguous(let kinds): d.error(path, ambiguity(reference, kinds))
        case .unknown: if referencesResolvable { d.error(path, unknown(reference)) }
        }
    }

    private func checkTarget(_ reference: Reference, of probe: ProbeSpec, probePath: String, at path: String, _ d: inout Diagnostics) {
        switch index.resolve(reference) {
        case .pod, .node, .host: break
        case .service(let s):
            guard kindKnown(probePath) else { return }
            switch probe.kind {
            case .http, .tcp, .udp: break
            case .dns: break
            case .ping, .exec:
                d.error(path, "\(probe.kind.label) cannot reach service \"\(lab.services[s].name)\": a service answers on its ports only; use http, tcp or udp")
            }
        case .ambiguous(let kinds): d.error(path, ambiguity(reference, kinds))
        case .unknown:
            guard referencesResolvable else { return }
            // A single label is an object's name; `dns:` says it is a name to look up.
            let byName = reference.kind == nil && index.services[reference.name] != nil ? ", or dns:\(reference.name) to look it up by name" : ""
            d.error(path, unknown(reference) + byName)
        }
    }

    private func checkMatrix(_ matrix: MatrixSpec, of probe: ProbeSpec, probePath: String, _ d: inout Diagnostics) {
        let path = "\(probePath).matrix"
        for (side, isSource) in [(matrix.from, true), (matrix.to, false)] {
            let sidePath = "\(path).\(isSource ? "from" : "to")"
            switch side {
            case .allPods:
                if lab.pods.isEmpty { d.warning(sidePath, "\"*\" means every pod, but the lab has no pods") }
            case .selector(let selector):
                checkLabels(selector, at: sidePath, &d)
                if !lab.pods.contains(where: { pod in selector.allSatisfy { pod.labels[$0.key] == $0.value } }) {
                    d.warning(sidePath, "selector \(Self.selectorText(selector)) matches no pod, so this side of the matrix is empty")
                }
            case .names(let references):
                for (k, reference) in references.enumerated() {
                    let namePath = "\(sidePath)[\(k)]"
                    if isSource { checkSource(reference, at: namePath, &d) } else { checkTarget(reference, of: probe, probePath: probePath, at: namePath, &d) }
                }
            }
        }
    }

    /// `nodePort: true` goes through a NodePort service's node port, so it needs a single
    /// service target of that type with the probed port.
    private func checkNodePort(_ probe: ProbeSpec, at path: String, _ d: inout Diagnostics) {
        guard probe.nodePort, kindKnown(path) else { return }
        let nodePortPath = "\(path).\(probe.kind.label).nodePort"
        guard case .object(let reference)? = probe.to, case .service(let s) = index.resolve(reference) else {
            if case .name(let name)? = probe.to, usable("\(path).to") {
                d.error(nodePortPath, "nodePort: true needs a service as \"to\", like to: service/web, not the name \"\(name)\" (a name resolves to the ClusterIP)")
            } else if usable("\(path).to") {
                d.error(nodePortPath, "nodePort: true needs a service as \"to\", like to: service/web")
            }
            return
        }
        let service = lab.services[s]
        guard service.type == .nodePort else {
            d.error(nodePortPath, "nodePort: true needs a NodePort service, but \"\(service.name)\" is \(service.type.rawValue)")
            return
        }
        let (port, proto): (Int, TransportProtocol) = switch probe.kind {
        case .http(let port, _, _), .tcp(let port): (port, .tcp)
        case .udp(let port, _): (port, .udp)
        case .ping, .exec, .dns: (0, .tcp)
        }
        if !service.ports.contains(where: { $0.port == port && $0.protocol == proto }) {
            let ports = service.ports.map { "\($0.port)/\($0.protocol.rawValue)" }
            d.error(nodePortPath, "service \"\(service.name)\" has no port \(port)/\(proto.rawValue) to reach through its node port (ports: \(Self.list(ports)))")
        }
    }

    // MARK: Expectations

    private func checkExpect(_ probe: ProbeSpec, at path: String, _ d: inout Diagnostics) {
        let expect = probe.expect
        let expectPath = "\(path).expect"
        let kind = probe.kind.label
        // Which expectations a kind of probe can observe: only HTTP and UDP answers of the agent
        // carry the client address (docs/architecture.md, "The built-in agent"); only ping
        // measures round trips and loss.
        let observable: [(key: String, isSet: Bool, kinds: Set<String>)] = [
            ("status", expect.status != nil, ["http"]),
            ("body", expect.body != nil, ["http"]),
            ("servedBy", expect.servedBy != nil, ["http", "tcp", "udp"]),
            ("clientIP", expect.clientIP != nil, ["http", "udp"]),
            ("rtt", expect.rtt != nil, ["ping"]),
            ("loss", expect.loss != nil, ["ping"]),
            ("answers", expect.answers != nil, ["dns"]),
            ("rcode", expect.rcode != nil, ["dns"]),
        ]
        if expect.reachByPolicy, usable("\(expectPath).reach") {
            if case .exec = probe.kind {
                d.error("\(expectPath).reach", "reach: policy needs a ping, http, tcp or udp probe: an exec probe's traffic is its command's")
            } else if case .dns = probe.kind {
                d.error("\(expectPath).reach", "reach: policy needs a ping, http, tcp or udp probe; a dns probe expects answers or an rcode")
            } else if probe.nodePort {
                d.error("\(expectPath).reach", "reach: policy is not supported through a nodePort (the source may be masqueraded); probe the service's ClusterIP or its pods")
            } else if case .name(let name)? = probe.to {
                d.error("\(expectPath).reach", "reach: policy needs a target the plan knows, but \"\(name)\" is only resolved when the probe runs; write the service (service/…) or the pod")
            }
        }
        for item in observable where item.isSet && usable("\(expectPath).\(item.key)") {
            let itemPath = "\(expectPath).\(item.key)"
            if !expect.reach, usable("\(expectPath).reach") {
                d.keyError(itemPath, "\(item.key) has no meaning with reach: false")
            } else if kindKnown(path), !item.kinds.contains(kind) {
                d.keyError(itemPath, "\(item.key) cannot be observed by a \(kind) probe (only by \(item.kinds.sorted().joined(separator: ", ")))")
            }
        }
        if let servedBy = expect.servedBy, usable("\(expectPath).servedBy") {
            for (k, name) in servedBy.enumerated() {
                let entryPath = "\(expectPath).servedBy[\(k)]"
                guard let reference = Reference(name) else {
                    d.error(entryPath, "\"\(name)\" is not a pod name")
                    continue
                }
                switch index.resolve(reference) {
                case .pod: break
                case .node, .host, .service:
                    d.error(entryPath, "\"\(name)\" is a \(index.resolve(reference).kind?.rawValue ?? "object"); servedBy lists the pods expected to answer")
                case .ambiguous(let kinds): d.error(entryPath, ambiguity(reference, kinds))
                case .unknown: if referencesResolvable { d.error(entryPath, unknown(Reference(kind: .pod, name: reference.name))) }
                }
            }
            if servedBy.count > probe.repeatCount, usable("\(path).repeat") {
                d.error("\(expectPath).servedBy", "servedBy lists \(servedBy.count) pods but the probe runs \(probe.repeatCount) time\(probe.repeatCount == 1 ? "" : "s"); every listed pod must answer, so set repeat to at least \(servedBy.count) (about 10 per pod is reliable)")
            }
        }
        if case .dns(_, let type) = probe.kind, kindKnown(path) { checkDNSExpect(expect, type: type, at: expectPath, &d) }
        if let clientIP = expect.clientIP, usable("\(expectPath).clientIP"), IPv4Address(clientIP) == nil {
            let itemPath = "\(expectPath).clientIP"
            if let reference = Reference(clientIP) {
                switch index.resolve(reference) {
                case .pod, .node, .host: break
                case .service: d.error(itemPath, "clientIP is a pod, node or host (whose address the server should see) or an IPv4 address, not a service")
                case .ambiguous(let kinds): d.error(itemPath, ambiguity(reference, kinds))
                case .unknown: if referencesResolvable { d.error(itemPath, unknown(reference) + "; clientIP may also be an IPv4 address") }
                }
            } else {
                d.error(itemPath, "\"\(clientIP)\" is neither a pod, node or host name nor an IPv4 address")
            }
        }
    }

    /// Answers written as the type prints them, and only with an rcode that has answers.
    private func checkDNSExpect(_ expect: ExpectSpec, type: DNSProbeType, at expectPath: String, _ d: inout Diagnostics) {
        if let answers = expect.answers, usable("\(expectPath).answers") {
            if let rcode = expect.rcode, rcode != .noError, !answers.isEmpty, usable("\(expectPath).rcode") {
                d.keyError("\(expectPath).answers", "answers come with NOERROR only, but rcode is \(rcode.rawValue); drop one of them")
            }
            for (k, answer) in answers.enumerated() {
                if let problem = Self.answerProblem(answer, type: type) { d.error("\(expectPath).answers[\(k)]", problem) }
            }
        }
    }

    /// Why `answer` cannot be an answer of `type`, or nil.
    static func answerProblem(_ answer: String, type: DNSProbeType) -> String? {
        switch type {
        case .a:
            return IPv4Address(answer) == nil ? "\"\(answer)\" is not an IPv4 address (an A answer)" : nil
        case .aaaa:
            let hex = answer.unicodeScalars.allSatisfy { $0 == ":" || $0.properties.isASCIIHexDigit }
            return hex && answer.contains(":") ? nil : "\"\(answer)\" is not an IPv6 address (an AAAA answer)"
        case .ptr:
            return NameRules.dnsName(answer).map { "\"\(answer)\" \($0) (a PTR answer is a name)" }
        case .srv:
            let fields = answer.split(separator: " ")
            let numbers = fields.dropLast()
            guard fields.count == 2 || fields.count == 4, numbers.allSatisfy({ UInt16($0) != nil }),
                  NameRules.dnsName(String(fields.last!)) == nil else {
                return "\"\(answer)\" is not an SRV answer: write \"priority weight port target\" (\"0 100 80 web.default.svc.cluster.local\") or just \"port target\""
            }
            return nil
        }
    }

    // MARK: Reference messages

    func ambiguity(_ reference: Reference, _ kinds: [Reference.Kind]) -> String {
        if kinds == [.service] {
            let namespaces = lab.services.filter { $0.name == reference.name }.map(\.namespace)
            return "there is a service \"\(reference.name)\" in several namespaces (\(namespaces.joined(separator: ", "))); write service/\(reference.name).<namespace>"
        }
        let names = kinds.map(\.rawValue)
        let qualified = kinds.map { "\($0.rawValue)/\(reference.name)" }
        return "\"\(reference.name)\" is ambiguous: it names a \(names.joined(separator: " and a ")); write \(qualified.joined(separator: " or "))"
    }

    func unknown(_ reference: Reference) -> String {
        let name = reference.name
        guard let kind = reference.kind else {
            if index.services[name] != nil { return "\"\(name)\" is a service; write service/\(name)" }
            let candidates = index.names(of: nil)
            return "unknown pod, node or host \"\(name)\"\(EditDistance.hint(for: name, among: candidates))"
        }
        let candidates = index.names(of: kind)
        let listed = candidates.isEmpty ? "the lab has no \(kind.rawValue)s" : "\(kind.rawValue)s: \(Self.list(candidates))"
        var hint = EditDistance.hint(for: name, among: candidates)
        if hint.isEmpty, let other = index.resolve(Reference(kind: nil, name: name)).kind {
            hint = "; \"\(name)\" is a \(other.rawValue)"
        }
        return "unknown \(kind.rawValue) \"\(name)\"\(hint) (\(listed))"
    }
}
