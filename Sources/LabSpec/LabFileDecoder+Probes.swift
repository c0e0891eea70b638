import Yams
import LabAddress

/// Probes (`probes:`, docs/architecture.md "Probes"): where from, where to, which kind, what to
/// expect.
extension LabFileDecoder {
    static let probeKindKeys = ["ping", "http", "tcp", "udp", "exec", "dns"]
    static let probeKeys = ["name", "from", "to", "matrix"] + probeKindKeys + ["expect", "repeat", "timeout", "retries"]
    static let expectKeys = ["reach", "status", "body", "servedBy", "clientIP", "rtt", "loss", "answers", "rcode"]

    static let pingCountRange = 1...1000
    static let repeatRange = 1...10_000
    static let retriesRange = 0...100
    static let statusRange = 100...599
    /// A probe that needs more than ten minutes is a bug in the lab, not a slow network.
    static let timeoutRange = 1...600_000

    func probe(_ fields: YAMLFields) -> ProbeSpec {
        var probe = ProbeSpec(kind: .ping(count: 3))
        probe.name = optionalString(fields, "name")
        if let value = fields["from"] { probe.from = reference(value, at: fields.path("from")) }
        if let value = fields["to"] { probe.to = target(value, at: fields.path("to")) }
        if let value = fields["matrix"] { probe.matrix = matrix(value, at: fields.path("matrix")) }
        let (kind, nodePort) = probeKind(fields)
        if let kind { probe.kind = kind }
        probe.nodePort = nodePort
        if let value = fields["expect"] { probe.expect = expect(value, at: fields.path("expect")) }
        if let value = fields["repeat"], let count = reader.int(value, at: fields.path("repeat"), in: Self.repeatRange, what: "repeat") {
            probe.repeatCount = count
        }
        if let value = fields["timeout"], let milliseconds = duration(value, at: fields.path("timeout")) {
            probe.timeoutMilliseconds = milliseconds
        }
        if let value = fields["retries"], let retries = reader.int(value, at: fields.path("retries"), in: Self.retriesRange, what: "retries") {
            probe.retries = retries
        }
        return probe
    }

    /// The probe's one kind; several kinds or none are reported here, because only the
    /// mapping knows which key came second.
    private func probeKind(_ fields: YAMLFields) -> (ProbeKind?, nodePort: Bool) {
        let kinds = fields.entries.filter { Self.probeKindKeys.contains($0.key) }
        let kindPath = YAMLPath.child(fields.path, "kind")
        guard let entry = kinds.first else {
            if !reader.failedPaths.contains(fields.path) {
                let position = fields.node.map(reader.position(of:)) ?? reader.diagnostics.sourceMap.position(of: fields.path)
                reader.diagnostics.error(fields.path, at: position, "a probe needs one kind: ping, http, tcp, udp, exec or dns")
            }
            reader.markFailed(kindPath)
            return (nil, false)
        }
        for extra in kinds.dropFirst() {
            reader.diagnostics.error(extra.path, at: reader.position(of: extra.keyNode),
                                     "a probe has one kind, but \"\(entry.key)\" and \"\(extra.key)\" are both given; split it into two probes")
            reader.markFailed(kindPath)
        }
        let path = entry.path
        switch entry.key {
        case "exec":
            guard let argv = stringList(entry.value, at: path, of: "arguments") else {
                reader.markFailed(kindPath)
                return (nil, false)
            }
            if argv.first?.isEmpty ?? true {
                reader.fail(path, at: entry.value, argv.isEmpty ? "exec needs at least the program to run, like [curl, -sf, http://web]"
                                                                : "the program to run must not be empty")
            }
            return (.exec(argv), false)
        case "ping":
            guard let ping = reader.fields(entry.value, at: path, allowed: ["count"]) else { return failedKind(kindPath, .ping(count: 3)) }
            var count = 3
            if let value = ping["count"] {
                guard let parsed = reader.int(value, at: ping.path("count"), in: Self.pingCountRange, what: "count") else {
                    return failedKind(kindPath, .ping(count: 3))
                }
                count = parsed
            }
            return (.ping(count: count), false)
        case "dns":
            return (dnsKind(entry, kindPath: kindPath), false)
        default:
            return portKind(entry, kindPath: kindPath)
        }
    }

    /// http, tcp and udp: a port, their own options, and `nodePort: true` for services.
    private func portKind(_ entry: YAMLFields.Entry, kindPath: String) -> (ProbeKind?, nodePort: Bool) {
        let extra: [String] = switch entry.key {
        case "http": ["path", "method"]
        case "udp": ["payload"]
        default: []
        }
        let placeholder = ProbeKind.tcp(port: 0)
        guard let fields = reader.fields(entry.value, at: entry.path, allowed: ["port"] + extra + ["nodePort"]) else {
            return failedKind(kindPath, placeholder)
        }
        guard let portNode = required(fields, "port", "the port to connect to"),
              let port = reader.int(portNode, at: fields.path("port"), in: Self.portRange, what: "port") else {
            return failedKind(kindPath, placeholder)
        }
        let nodePort = fields["nodePort"].flatMap { reader.bool($0, at: fields.path("nodePort")) } ?? false
        switch entry.key {
        case "http":
            var path = "/"
            if let value = fields["path"], let text = reader.string(value, at: fields.path("path")) {
                path = text
                if !text.hasPrefix("/") { reader.fail(fields.path("path"), at: value, "an HTTP path starts with \"/\"; did you mean \"/\(text)\"?") }
            }
            var method = "GET"
            if let value = fields["method"], let text = reader.string(value, at: fields.path("method")) {
                method = text
                let isToken = !text.isEmpty && text.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) }
                if !isToken {
                    let hint = text.uppercased() != text && !text.isEmpty ? "; did you mean \"\(text.uppercased())\"?" : ""
                    reader.fail(fields.path("method"), at: value, "\"\(text)\" is not an HTTP method like GET or POST\(hint)")
                }
            }
            return (.http(port: port, path: path, method: method), nodePort)
        case "udp":
            var payload = "hello"
            if let value = fields["payload"], let text = reader.string(value, at: fields.path("payload")) {
                payload = text
                if text.isEmpty { reader.fail(fields.path("payload"), at: value, "a UDP payload must not be empty: an empty datagram gets no answer") }
            }
            return (.udp(port: port, payload: payload), nodePort)
        default:
            return (.tcp(port: port), nodePort)
        }
    }

    /// `dns: {name: cart.store, type: SRV}`: the name as a resolver takes it (a PTR may name an
    /// IPv4 address) and the type, A by default.
    private func dnsKind(_ entry: YAMLFields.Entry, kindPath: String) -> ProbeKind? {
        let placeholder = ProbeKind.dns(name: "", type: .a)
        guard let fields = reader.fields(entry.value, at: entry.path, allowed: ["name", "type"], nullIsEmpty: false) else {
            return failedKind(kindPath, placeholder).0
        }
        var type = DNSProbeType.a
        if let value = fields["type"], let text = reader.string(value, at: fields.path("type")) {
            guard let parsed = DNSProbeType(rawValue: text.uppercased()) else {
                let types = DNSProbeType.allCases.map(\.rawValue)
                reader.fail(fields.path("type"), at: value, "\"\(text)\" is not a record type a dns probe asks for (\(types.joined(separator: ", ")))")
                return failedKind(kindPath, placeholder).0
            }
            type = parsed
        }
        guard let nameNode = required(fields, "name", "the name to look up, like cart.store"),
              let name = reader.string(nameNode, at: fields.path("name")) else {
            return failedKind(kindPath, placeholder).0
        }
        if !(type == .ptr && IPv4Address(name) != nil), let problem = NameRules.dnsName(name) {
            reader.fail(fields.path("name"), at: nameNode, "\"\(name)\" \(problem)")
            return failedKind(kindPath, placeholder).0
        }
        return .dns(name: name, type: type)
    }

    private func failedKind(_ kindPath: String, _ placeholder: ProbeKind) -> (ProbeKind?, nodePort: Bool) {
        reader.markFailed(kindPath)
        return (placeholder, false)
    }

    // MARK: Ends of a probe

    /// `web-1`, `pod/web-1`, `service/web`: the reference as written.
    func reference(_ node: Node, at path: String) -> Reference? {
        guard let text = reader.string(node, at: path) else { return nil }
        if let reference = Reference(text) { return reference }
        var hint = ""
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2, let kind = EditDistance.suggestion(for: String(parts[0]), among: Reference.Kind.allCases.map(\.rawValue)) {
            hint = "; did you mean \"\(kind)/\(parts[1])\"?"
        }
        reader.fail(path, at: node, "\"\(text)\" is not a reference: write a name, or pod/, node/, host/ or service/ and a name\(hint)")
        return nil
    }

    /// An IPv4 address, a DNS name, or a reference. A name is `dns:` and any name, or a bare
    /// name with a dot: a lab object's name is one DNS label and never has one, so every file
    /// that was valid before names the same objects.
    private func target(_ node: Node, at path: String) -> ProbeTarget? {
        guard case .scalar(let scalar) = node else { return reference(node, at: path).map(ProbeTarget.object) }
        let text = scalar.string
        if let address = IPv4Address(text) { return .address(address) }
        if text.hasPrefix(Self.dnsPrefix) || (text.contains(".") && !text.contains("/")) {
            let name = text.hasPrefix(Self.dnsPrefix) ? String(text.dropFirst(Self.dnsPrefix.count)) : text
            if let problem = NameRules.dnsName(name) {
                let hint = text.hasPrefix(Self.dnsPrefix) ? "" : " (a target with a dot is a DNS name; pods, nodes and hosts have none)"
                reader.fail(path, at: node, "\"\(name)\" \(problem)\(hint)")
                return nil
            }
            return .name(name)
        }
        return reference(node, at: path).map(ProbeTarget.object)
    }

    /// Marks a `to:` as a DNS name even without a dot: `dns:web`.
    static let dnsPrefix = "dns:"

    private func matrix(_ node: Node, at path: String) -> MatrixSpec? {
        guard let fields = reader.fields(node, at: path, allowed: ["from", "to"], nullIsEmpty: false) else { return nil }
        let from = required(fields, "from", "\"*\", a list of names or a label selector").flatMap { matrixSide($0, at: fields.path("from")) }
        let to = required(fields, "to", "\"*\", a list of names or a label selector").flatMap { matrixSide($0, at: fields.path("to")) }
        guard let from, let to else {
            reader.markFailed(path)
            return nil
        }
        return MatrixSpec(from: from, to: to)
    }

    /// `"*"` (every pod), a list of names, a label selector mapping, or a single name.
    private func matrixSide(_ node: Node, at path: String) -> MatrixSide? {
        switch node {
        case .mapping:
            let selector = stringMap(node, at: path, what: "label names to values")
            if selector.isEmpty {
                reader.fail(path, at: node, "an empty selector; write \"*\" for every pod")
                return nil
            }
            return .selector(selector)
        case .sequence:
            guard let items = reader.list(node, at: path, of: "names") else { return nil }
            if items.isEmpty {
                reader.fail(path, at: node, "an empty list; name at least one pod, node or host, or write \"*\"")
                return nil
            }
            let references = items.map { reference($0.node, at: $0.path) }
            return references.contains(where: { $0 == nil }) ? nil : .names(references.compactMap { $0 })
        default:
            guard let text = reader.string(node, at: path) else { return nil }
            if text == "*" { return .allPods }
            return reference(node, at: path).map { .names([$0]) }
        }
    }

    // MARK: Expectations

    private func expect(_ node: Node, at path: String) -> ExpectSpec {
        var expect = ExpectSpec()
        guard let fields = reader.fields(node, at: path, allowed: Self.expectKeys) else { return expect }
        if let value = fields["reach"] {
            if case .scalar(let scalar) = value, scalar.string == "policy" {
                expect.reachByPolicy = true
            } else if let reach = reader.bool(value, at: fields.path("reach")) {
                expect.reach = reach
            }
        }
        if let value = fields["status"] {
            expect.status = reader.int(value, at: fields.path("status"), in: Self.statusRange, what: "HTTP status")
        }
        expect.body = optionalString(fields, "body")
        if let value = fields["servedBy"] {
            // `pod/web-1` and `web-1` name the same pod; `lab verify` compares bare names.
            expect.servedBy = stringList(value, at: fields.path("servedBy"), of: "pod names")?.map { text in
                Reference(text).flatMap { $0.kind == .pod ? $0.name : nil } ?? text
            }
        }
        expect.clientIP = optionalString(fields, "clientIP")
        expect.rtt = bound(fields, "rtt", parse: MeasurementBound.rtt,
                           what: "a round-trip time bound like \"<5ms\" or \"<=1.5ms\"")
        expect.loss = bound(fields, "loss", parse: MeasurementBound.loss,
                            what: "a loss bound like \"0%\" or \"<1%\" (0 to 100 percent)")
        if let value = fields["answers"] {
            // Numbers and names alike are text here: `10.96.0.10` and `0 100 80 web…` are both
            // compared as the answers are printed.
            expect.answers = stringList(value, at: fields.path("answers"), of: "answers")
        }
        if let value = fields["rcode"], let text = reader.string(value, at: fields.path("rcode")) {
            if let rcode = DNSProbeRcode(rawValue: text.uppercased()) {
                expect.rcode = rcode
            } else {
                let codes = DNSProbeRcode.allCases.map(\.rawValue)
                reader.fail(fields.path("rcode"), at: value, "\"\(text)\" is not a response code a dns probe can expect (\(codes.joined(separator: ", ")))")
            }
        }
        return expect
    }

    /// `rtt`/`loss` read into a bound here, once: validation and `lab verify` see the value.
    private func bound(_ fields: YAMLFields, _ key: String, parse: (String) -> MeasurementBound?, what: String) -> MeasurementBound? {
        guard let value = fields[key], let text = reader.string(value, at: fields.path(key)) else { return nil }
        guard let bound = parse(text) else {
            reader.fail(fields.path(key), at: value, "\"\(text)\" is not \(what)")
            return nil
        }
        return bound
    }

    private func duration(_ node: Node, at path: String) -> Int? {
        guard let text = reader.string(node, at: path) else { return nil }
        guard let milliseconds = DurationText.milliseconds(text) else {
            var hint = ""
            if Int(text) != nil { hint = "; add a unit, like \"\(text)s\"" }
            if text.hasSuffix("ms"), text.contains(".") { hint = "; durations are whole milliseconds" }
            reader.fail(path, at: node, "\"\(text)\" is not a duration like \"2s\", \"500ms\" or \"1.5s\"\(hint)")
            return nil
        }
        guard Self.timeoutRange.contains(milliseconds) else {
            reader.fail(path, at: node, "a timeout of \(text) is out of range 1ms...10m")
            return nil
        }
        return milliseconds
    }
}
