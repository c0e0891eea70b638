extension ProbeNameService {
    /// The lab's cluster DNS (the kube-dns ClusterIP, served in the coredns pod); nil when the
    /// lab has none (`cluster.dns: false`).
    public init?(_ topology: Topology) {
        guard let dns = topology.dns else { return nil }
        self.init(domain: dns.domain, nameserver: dns.clusterIP, serverPod: dns.podName)
    }
}
