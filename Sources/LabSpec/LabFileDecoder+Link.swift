import Yams

extension LabFileDecoder {
    static let linkKeys = ["delay", "jitter", "loss", "rate"]

    /// `link: {delay: 20ms, jitter: 5ms, loss: 1%, rate: 10mbit}` on a pod, node, host or
    /// network. nil when absent or when it asks for nothing.
    func link(_ fields: YAMLFields) -> LinkImpairment? {
        guard let node = fields["link"] else { return nil }
        let path = fields.path("link")
        guard let link = reader.fields(node, at: path, allowed: Self.linkKeys) else { return nil }
        let impairment = impairment(link)
        return impairment.isEmpty ? nil : impairment
    }

    /// The `delay`, `jitter`, `loss` and `rate` of `link` (a `link:` mapping, or a scenario's
    /// `impair` fault, which has them beside its target).
    func impairment(_ link: YAMLFields) -> LinkImpairment {
        var impairment = LinkImpairment()
        for field in LinkImpairment.fields {
            guard let value = link[field.name], let text = reader.string(value, at: link.path(field.name)) else { continue }
            if let problem = field.set(text, in: &impairment) { reader.fail(link.path(field.name), at: value, problem) }
        }
        if let jitter = link["jitter"], link["delay"] == nil {
            reader.fail(link.path("jitter"), at: jitter, "jitter needs a delay to vary; add delay (like delay: 20ms) or remove jitter")
        }
        return impairment
    }
}
