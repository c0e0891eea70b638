import Yams

/// Services and their ports (`services:`), read with Kubernetes' spelling.
extension LabFileDecoder {
    static let serviceKeys = ["name", "namespace", "type", "clusterIP", "selector", "ports", "sessionAffinity",
                              "sessionAffinityConfig", "externalTrafficPolicy"]
    static let servicePortKeys = ["name", "port", "targetPort", "protocol", "nodePort"]
    static let nodePortRange = 30000...32767
    /// Kubernetes' own limit for `sessionAffinityConfig.clientIP.timeoutSeconds`.
    static let affinityTimeoutRange = 1...86400

    func service(_ fields: YAMLFields) -> ServiceSpec {
        var service = ServiceSpec(name: requiredString(fields, "name", "the service's name") ?? "")
        if let namespace = optionalString(fields, "namespace") { service.namespace = namespace }
        if let value = fields["type"], let type: ServiceType = reader.choice(value, at: fields.path("type"), what: "service type") {
            service.type = type
        }
        if let value = fields["clusterIP"] {
            let path = fields.path("clusterIP")
            if case .scalar(let scalar) = value, scalar.string == "None" {
                service.clusterIP = .none
                let typeWritten = fields["type"] != nil && !reader.failedPaths.contains(fields.path("type"))
                if typeWritten, service.type != .headless {
                    reader.fail(path, at: value, "clusterIP None makes a headless service, but type is \(service.type.rawValue); drop one of the two")
                }
                service.type = .headless
            } else if let address = reader.address(value, at: path) {
                service.clusterIP = .address(address)
                if service.type == .headless {
                    reader.fail(path, at: value, "a Headless service has no clusterIP; remove it or write clusterIP: None")
                }
            }
        } else if service.type == .headless {
            service.clusterIP = .none
        }
        if let value = fields["selector"] {
            service.selector = stringMap(value, at: fields.path("selector"), what: "label names to values")
        }
        if let value = fields["ports"] {
            service.ports = elements(value, at: fields.path("ports"), of: "ports", keys: Self.servicePortKeys, servicePort)
        }
        if let value = fields["sessionAffinity"],
           let affinity: SessionAffinity = reader.choice(value, at: fields.path("sessionAffinity"), what: "session affinity") {
            service.sessionAffinity = affinity
        }
        if let value = fields["sessionAffinityConfig"], let timeout = affinityTimeout(value, at: fields.path("sessionAffinityConfig")) {
            service.affinityTimeoutSeconds = timeout
        }
        if let value = fields["externalTrafficPolicy"],
           let policy: ExternalTrafficPolicy = reader.choice(value, at: fields.path("externalTrafficPolicy"), what: "external traffic policy") {
            service.externalTrafficPolicy = policy
        }
        return service
    }

    private func servicePort(_ fields: YAMLFields) -> ServicePortSpec {
        let portPath = fields.path("port")
        let port = required(fields, "port", "the port the service listens on").flatMap {
            reader.int($0, at: portPath, in: Self.portRange, what: "port")
        }
        if port == nil { reader.markFailed(portPath) }
        var spec = ServicePortSpec(port: port ?? 0)
        spec.name = optionalString(fields, "name")
        if let value = fields["targetPort"] {
            let path = fields.path("targetPort")
            if value.tagName == .int {
                if let number = reader.int(value, at: path, in: Self.portRange, what: "targetPort") { spec.targetPort = .number(number) }
            } else if let name = reader.string(value, at: path) {
                spec.targetPort = .name(name)
            }
        }
        if let value = fields["protocol"], let proto: TransportProtocol = reader.choice(value, at: fields.path("protocol"), what: "protocol") {
            spec.protocol = proto
        }
        if let value = fields["nodePort"] {
            spec.nodePort = reader.int(value, at: fields.path("nodePort"), in: Self.nodePortRange, what: "nodePort")
        }
        return spec
    }

    /// `sessionAffinityConfig: {clientIP: {timeoutSeconds: N}}`.
    private func affinityTimeout(_ node: Node, at path: String) -> Int? {
        guard let config = reader.fields(node, at: path, allowed: ["clientIP"]),
              let clientIP = config["clientIP"],
              let fields = reader.fields(clientIP, at: config.path("clientIP"), allowed: ["timeoutSeconds"]),
              let value = fields["timeoutSeconds"] else { return nil }
        return reader.int(value, at: fields.path("timeoutSeconds"), in: Self.affinityTimeoutRange, what: "timeoutSeconds")
    }
}
