extension ProbeNameService {
    /// The lab's cluster DNS; nil when the lab has none.
    public init?(_ topology: Topology) {
        return nil
    }
}
