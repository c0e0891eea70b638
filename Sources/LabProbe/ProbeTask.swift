import LabKernel
import LabPlan
import LabSpec

/// One probe, resolved and ready to run: every name has become an address and a namespace.
/// A matrix has already been expanded into one task per (from, to) pair.
public struct ProbeTask: Sendable {
    public var name: String
    /// The source as the report shows it: `client`, `node/worker-1`.
    public var from: String
    /// The destination as the report shows it: `web-1`, `service/web`, `10.0.0.9`; for exec
    /// probes, what the report should show in that column (often empty).
    public var to: String
    /// The matrix (or model-check section) this probe comes from: its results are drawn as one
    /// truth table.
    public var group: String?
    /// Where the probe's socket is opened (or its command runs); nil is the calling process's
    /// own namespace, which is what tests on 127.0.0.1 use.
    public var namespace: NetworkNamespace?
    /// Nil for exec probes, and for probes by name (the address comes from `lookup` as the
    /// probe runs); a dns probe's is its nameserver.
    public var endpoint: ProbeEndpoint?
    /// A probe by name, or a dns probe: the name and the pod's resolver.
    public var lookup: NameLookup?
    public var action: ProbeAction
    public var expectation: ProbeExpectation
    /// Tries per attempt (`repeat`), e.g. 30 connections to see a service balance its load.
    public var repeatCount: Int
    /// How long one try may take: one connection, one datagram's answer, one echo's reply.
    public var timeout: Duration
    /// How many times a failing probe is run again. Only a failing probe is, so retries cost
    /// nothing on a healthy lab; the default of 1 absorbs the first packet a brand-new veth
    /// may drop (measured.md, pitfall 5).
    public var retries: Int

    public init(name: String, from: String, to: String, group: String? = nil, namespace: NetworkNamespace? = nil,
                endpoint: ProbeEndpoint?, action: ProbeAction, expectation: ProbeExpectation = ProbeExpectation(),
                repeatCount: Int = 1, timeout: Duration = .seconds(2), retries: Int = 1, lookup: NameLookup? = nil) {
        self.name = name
        self.from = from
        self.to = to
        self.group = group
        self.namespace = namespace
        self.endpoint = endpoint
        self.action = action
        self.expectation = expectation
        self.repeatCount = repeatCount
        self.timeout = timeout
        self.retries = retries
        self.lookup = lookup
    }
}

extension ProbeTask {
    /// The name and port of a probe by name (not of a dns probe, whose target is its server).
    var namedTarget: NamedTarget? {
        if case .dns = action { return nil }
        return lookup.map { NamedTarget(name: $0.name, port: $0.port) }
    }
}
