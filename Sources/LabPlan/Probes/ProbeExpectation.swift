import LabSpec

/// What a resolved probe must observe: the file's `expect:` with `clientIP` turned from a name
/// into an address. One type serves both, so a field added to `expect:` reaches the engine and
/// the JSON report without a second copy.
public typealias ProbeExpectation = ExpectSpec

extension ExpectSpec {
    /// The expectation of a decoded probe, with `clientIP` replaced by the address the file's
    /// `expect.clientIP` resolves to (the lab file may name a pod).
    public init(_ spec: ExpectSpec, clientIP: String?) {
        self = spec
        self.clientIP = clientIP
    }
}
