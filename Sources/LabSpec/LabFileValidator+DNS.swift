import LabAddress

/// `cluster.dns`: the domain's spelling, the kube-dns ClusterIP, and the names and addresses the
/// DNS pod and service take, which no object of the file may already have.
extension LabFileValidator {
    func checkClusterDNS(_ d: inout Diagnostics) {
        guard let dns = lab.cluster.dns, usable("cluster.dns") else { return }
        if usable("cluster.dns.domain"), let problem = NameRules.dnsSubdomain(dns.domain) {
            d.error("cluster.dns.domain", "the cluster domain \"\(dns.domain)\" \(problem)")
        }
        let clusterIP = dns.clusterIP(in: lab.cluster.serviceCIDR)
        // A serviceCIDR too small for anything has its own error already.
        if usable("cluster.serviceCIDR"), usable("cluster.dns.clusterIP"), lab.cluster.serviceCIDR.prefixLength <= Self.longestUsablePrefix {
            checkDNSClusterIP(clusterIP, explicit: dns.clusterIP != nil, &d)
        }
        let owner = dnsOwner(&d)
        let pod = "\(ClusterDNSSpec.namespace)/\(ClusterDNSSpec.podName)"
        // Pods, nodes and hosts share one name space, and the DNS pod is in it.
        let machines = lab.nodes.enumerated().map { ("node", $0.element.name, "nodes[\($0.offset)].name") }
            + lab.pods.enumerated().map { ("pod", $0.element.name, "pods[\($0.offset)].name") }
            + lab.hosts.enumerated().map { ("host", $0.element.name, "hosts[\($0.offset)].name") }
        for (kind, name, path) in machines where name == ClusterDNSSpec.podName && usable(path) {
            d.error(path, "the \(kind) name \"\(name)\" is the cluster DNS pod's (\(pod), \(owner)); rename the \(kind), or set \"cluster.dns: false\"")
        }
        for (i, service) in lab.services.enumerated() where usable("services[\(i)]") {
            if service.name == ClusterDNSSpec.serviceName, service.namespace == ClusterDNSSpec.namespace {
                d.error("services[\(i)].name", "service \(ClusterDNSSpec.namespace)/\(ClusterDNSSpec.serviceName) is the cluster DNS service (\(owner)); rename the service, or set \"cluster.dns: false\"")
            }
            if case .address(let ip) = service.clusterIP, ip == clusterIP, usable("services[\(i)].clusterIP") {
                d.error("services[\(i)].clusterIP", "\(ip) is the ClusterIP of the cluster DNS service \(ClusterDNSSpec.namespace)/\(ClusterDNSSpec.serviceName) (\(owner)); pick another address, or move the DNS with cluster.dns.clusterIP")
            }
        }
    }

    /// Where the DNS comes from, for messages that name it next to what clashes with it.
    private func dnsOwner(_ d: inout Diagnostics) -> String {
        if written("cluster.dns.clusterIP") { return "cluster.dns.clusterIP, \(d.line(of: "cluster.dns.clusterIP"))" }
        if written("cluster.dns") { return "cluster.dns, \(d.line(of: "cluster.dns"))" }
        return "the cluster DNS is on by default: tenth address of cluster.serviceCIDR"
    }

    /// The kube-dns ClusterIP is a ClusterIP like any other: inside the serviceCIDR, neither its
    /// network nor its broadcast address.
    private func checkDNSClusterIP(_ ip: IPv4Address, explicit: Bool, _ d: inout Diagnostics) {
        let serviceCIDR = lab.cluster.serviceCIDR
        let path = explicit ? "cluster.dns.clusterIP" : (written("cluster.serviceCIDR") ? "cluster.serviceCIDR" : "cluster.dns")
        let what = explicit ? "cluster.dns.clusterIP \(ip)" : "the cluster DNS's default ClusterIP \(ip) (the tenth address of cluster.serviceCIDR)"
        let fix = explicit ? "" : "; set cluster.dns.clusterIP, or a larger serviceCIDR"
        if !serviceCIDR.contains(ip) {
            d.error(path, "\(what) is outside cluster.serviceCIDR \(serviceCIDR)\(fix)")
        } else if ip == serviceCIDR.address || ip == serviceCIDR.broadcast {
            let which = ip == serviceCIDR.address ? "network" : "broadcast"
            d.error(path, "\(what) is the \(which) address of cluster.serviceCIDR \(serviceCIDR)\(fix)")
        }
    }
}
