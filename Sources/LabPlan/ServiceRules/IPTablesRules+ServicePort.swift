import LabAddress
import LabSpec

extension IPTablesRules {
    /// One service port's rules, in the order of kube-proxy's per-service loop in
    /// `syncProxyRules`: capture rules (ClusterIP, NodePort), no-endpoint filtering, then the
    /// EXT, SVC, SVL and SEP chains. Comments are kube-proxy's, word for word, because they are
    /// what a reader of `iptables-save` navigates by.
    static func writeServicePort(_ port: ProxiedServicePort, clusterCIDR: IPv4Network,
                                 filter: inout IPTablesTableText, nat: inout IPTablesTableText) {
        let names = IPTablesChainNames.self
        let service = port.name.description
        let proto = port.name.protocol
        let (clusterChain, localChain, externalChain) = names.chains(port.name)
        let clusterIPMatch = ["-m", proto, "-p", proto, "-d", "\(port.clusterIP)", "--dport", "\(port.port)"]

        // 1. The ClusterIP: into the service chain, or refused in the filter table. REJECT sends
        //    ICMP port-unreachable, so a client fails at once instead of timing out.
        if port.hasEndpoints {
            nat.append(names.services, ["-m", "comment", "--comment", "\(service) cluster IP"] + clusterIPMatch + ["-j", clusterChain])
        } else {
            filter.append(names.services, ["-m", "comment", "--comment", "\(service) has no endpoints"] + clusterIPMatch + ["-j", "REJECT"])
        }

        // 2. The NodePort, on any local address (KUBE-SERVICES jumps to KUBE-NODEPORTS last).
        if let nodePort = port.nodePort {
            if port.hasEndpoints {
                nat.append(names.nodePorts, "-m", "comment", "--comment", service, "-m", proto, "-p", proto,
                           "--dport", "\(nodePort)", "-j", externalChain)
            }
            if !port.hasExternalEndpoints {
                // No endpoints at all: REJECT. Local policy without local endpoints: DROP what
                // the EXT chain did not short-circuit to the cluster-wide chain.
                let (comment, verdict) = port.hasEndpoints
                    ? ("\(service) has no local endpoints", "DROP") : ("\(service) has no endpoints", "REJECT")
                filter.append(names.externalServices, "-m", "comment", "--comment", comment, "-m", "addrtype", "--dst-type", "LOCAL",
                              "-m", proto, "-p", proto, "--dport", "\(nodePort)", "-j", verdict)
            }
        }

        // Without endpoints kube-proxy writes no nat chains for the port at all.
        guard port.hasEndpoints else { return }

        // 3. Off-cluster clients of the ClusterIP (a node itself, or a host routing the
        //    serviceCIDR to a node) are masqueraded so replies come back through this node.
        nat.append(clusterChain, ["-m", "comment", "--comment", "\(service) cluster IP"] + clusterIPMatch
            + ["!", "-s", "\(clusterCIDR)", "-j", names.markMasquerade])

        // 4. External traffic enters KUBE-EXT first.
        if port.externallyAccessible { writeExternalChain(port, clusterCIDR: clusterCIDR, nat: &nat) }

        // 5. Load balancing: KUBE-SVC over every endpoint, KUBE-SVL over this node's.
        nat.declare(clusterChain)
        writeEndpointJumps(port, from: clusterChain, to: port.endpoints, nat: &nat)
        if port.usesLocalPolicyChain {
            nat.declare(localChain)
            writeEndpointJumps(port, from: localChain, to: port.localEndpoints, nat: &nat)
        }

        // 6. One KUBE-SEP per endpoint.
        writeEndpointChains(port, nat: &nat)
    }

    /// `KUBE-EXT-…`: masquerade (cluster policy) or keep the client (local policy), then on to
    /// the policy chain.
    static func writeExternalChain(_ port: ProxiedServicePort, clusterCIDR: IPv4Network, nat: inout IPTablesTableText) {
        let names = IPTablesChainNames.self
        let service = port.name.description
        let (clusterChain, localChain, externalChain) = names.chains(port.name)
        nat.declare(externalChain)
        if !port.externalPolicyLocal {
            // Cluster policy may forward to another node: masquerade so the reply returns here.
            nat.append(externalChain, "-m", "comment", "--comment", "masquerade traffic for \(service) external destinations",
                       "-j", names.markMasquerade)
        } else {
            // Local policy keeps the client's address; pods and the node itself are sent to
            // all endpoints, as if they had gone out to a load balancer and come back.
            nat.append(externalChain, "-m", "comment", "--comment", "pod traffic for \(service) external destinations",
                       "-s", "\(clusterCIDR)", "-j", clusterChain)
            nat.append(externalChain, "-m", "comment", "--comment", "masquerade LOCAL traffic for \(service) external destinations",
                       "-m", "addrtype", "--src-type", "LOCAL", "-j", names.markMasquerade)
            nat.append(externalChain, "-m", "comment", "--comment", "route LOCAL traffic for \(service) external destinations",
                       "-m", "addrtype", "--src-type", "LOCAL", "-j", clusterChain)
        }
        if port.hasExternalEndpoints {
            nat.append(externalChain, "-j", port.externalPolicyLocal ? localChain : clusterChain)
        }
    }

    /// One `KUBE-SEP-…` per endpoint: mark hairpin traffic (a pod reaching itself through the
    /// VIP must not see its own address as the source), remember the client for affinity, DNAT.
    static func writeEndpointChains(_ port: ProxiedServicePort, nat: inout IPTablesTableText) {
        let names = IPTablesChainNames.self
        let service = port.name.description
        let proto = port.name.protocol
        for endpoint in port.endpoints {
            let chain = names.endpointChain(port.name, endpoint: endpoint.text)
            nat.declare(chain)
            nat.append(chain, "-m", "comment", "--comment", service, "-s", "\(endpoint.ip)", "-j", names.markMasquerade)
            let affinity = port.affinityTimeoutSeconds == nil ? [] : ["-m", "recent", "--name", chain, "--set"]
            nat.append(chain, ["-m", "comment", "--comment", service] + affinity
                + ["-m", proto, "-p", proto, "-j", "DNAT", "--to-destination", endpoint.text])
        }
    }

    /// `writeServiceToEndpointRules`: affinity checks first (a pinned client skips the dice),
    /// then rule i of n taken with probability 1/(n−i), the last one unconditionally.
    static func writeEndpointJumps(_ port: ProxiedServicePort, from chain: String, to endpoints: [ServiceEndpoint],
                                   nat: inout IPTablesTableText) {
        let service = port.name.description
        if let timeout = port.affinityTimeoutSeconds {
            for endpoint in endpoints {
                let target = IPTablesChainNames.endpointChain(port.name, endpoint: endpoint.text)
                nat.append(chain, "-m", "comment", "--comment", "\(service) -> \(endpoint.text)",
                           "-m", "recent", "--name", target, "--rcheck", "--seconds", "\(timeout)", "--reap", "-j", target)
            }
        }
        for (i, endpoint) in endpoints.enumerated() {
            let target = IPTablesChainNames.endpointChain(port.name, endpoint: endpoint.text)
            let dice = i < endpoints.count - 1
                ? ["-m", "statistic", "--mode", "random", "--probability", LoadBalancingProbability.text(oneIn: endpoints.count - i)]
                : []
            nat.append(chain, ["-m", "comment", "--comment", "\(service) -> \(endpoint.text)"] + dice + ["-j", target])
        }
    }
}
