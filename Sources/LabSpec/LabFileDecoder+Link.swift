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
        if let value = link["delay"] {
            impairment.delayMicroseconds = measured(value, at: link.path("delay"), what: "delay", example: "20ms",
                                                    ImpairmentText.microseconds)
        }
        if let value = link["jitter"] {
            impairment.jitterMicroseconds = measured(value, at: link.path("jitter"), what: "jitter", example: "5ms",
                                                     ImpairmentText.microseconds)
            if link["delay"] == nil {
                reader.fail(link.path("jitter"), at: value, "jitter needs a delay to vary; add delay (like delay: 20ms) or remove jitter")
            }
        }
        if let value = link["loss"] {
            impairment.loss = measured(value, at: link.path("loss"), what: "loss", example: "1%", range: "0% to 100%",
                                       ImpairmentText.fraction)
        }
        if let value = link["rate"] {
            impairment.rateBitsPerSecond = measured(value, at: link.path("rate"), what: "rate", example: "10mbit",
                                                    range: "8kbit to 100gbit", ImpairmentText.bitsPerSecond)
        }
        return impairment
    }

    private func measured<Value>(_ node: Node, at path: String, what: String, example: String, range: String? = nil,
                                 _ parse: (String) -> Result<Value, ImpairmentText.Failure>) -> Value? {
        guard let text = reader.string(node, at: path) else { return nil }
        switch parse(text) {
        case .success(let value):
            return value
        case .failure(let failure):
            reader.fail(path, at: node, ImpairmentText.problem(failure, what: what, text: text, example: example, range: range))
        }
        return nil
    }
}
