import LabAddress
import LabSpec

extension ModelCheck {
    /// Above this many (service, namespace) pairs, each service is asked from its own namespace
    /// and one other only: 100 services in 100 namespaces would otherwise be 10,000 rows.
    static let largestDNSCheck = 2_000

    /// "Every service resolves from every namespace", through the cluster DNS as pods use it:
    /// from one pod of each Kubernetes namespace, a service of the same namespace by its short
    /// name (`web`), a service of another by `<svc>.<ns>` — both through the pod's search path,
    /// as an application would write them. A ClusterIP service must answer its ClusterIP; a
    /// headless one its endpoints' addresses, or NXDOMAIN with none. Where a NetworkPolicy
    /// denies the source DNS (UDP 53 to the server pod), the lookup must get no answer.
    static func dnsProbes(_ topology: Topology, dns: ClusterDNSTopology, policy: PolicyEvaluator?) -> [ResolvedProbe] {
        // 1. One source per Kubernetes namespace: its first pod, never the DNS server itself.
        var sources: [PodTopology] = [], seen: Set<String> = []
        for pod in topology.pods where pod.name != dns.podName && seen.insert(pod.namespace).inserted {
            sources.append(pod)
        }
        guard !sources.isEmpty else { return [] }
        // Whether a policy keeps a source from the server (UDP 53): the same for every row it asks.
        let cutOff = Set(sources.filter { source in
            policy.map { !$0.verdict(from: .pod(source.name), to: .pod(dns.podName), protocol: .udp, port: 53).allowed } ?? false
        }.map(\.name))
        let pods = Dictionary(topology.pods.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let everyPair = topology.services.count * sources.count <= largestDNSCheck
        var probes: [ResolvedProbe] = []
        for (index, service) in topology.services.enumerated() {
            // 2. Which namespaces ask: all of them, or (in a large lab) the service's own and one
            //    other, turning with the service so every namespace still asks for some.
            var askers = sources
            if !everyPair {
                let others = sources.filter { $0.namespace != service.namespace }
                askers = sources.filter { $0.namespace == service.namespace } + (others.isEmpty ? [] : [others[index % others.count]])
            }
            let expect = dnsExpectation(service, pods: pods)
            for source in askers {
                let name = source.namespace == service.namespace ? service.name : "\(service.name).\(service.namespace)"
                let expected = cutOff.contains(source.name) ? ProbeExpectation(reach: false) : expect
                let from = "\(source.namespace)/\(source.name)"
                probes.append(ResolvedProbe(
                    name: "model: dns \(name) from \(from)", group: nil, from: from, to: name, fromNetns: source.netns,
                    address: dns.clusterIP, port: 53, kind: .dns(name: name, type: .a), expect: expected,
                    repeatCount: 1, timeoutMilliseconds: timeout, retries: 1,
                    lookup: ProbeLookup(name: name, namespace: source.namespace, domain: dns.domain, nameserver: dns.clusterIP)))
            }
        }
        return probes
    }

    /// The A answers of a service's name: its ClusterIP, or each endpoint's address.
    static func dnsExpectation(_ service: ServiceTopology, pods: [String: PodTopology]) -> ProbeExpectation {
        if let clusterIP = service.clusterIP { return ProbeExpectation(answers: [clusterIP.description]) }
        let addresses = service.endpoints.compactMap { pods[$0]?.ip.description }
        return addresses.isEmpty ? ProbeExpectation(rcode: .nameError) : ProbeExpectation(answers: addresses)
    }
}
