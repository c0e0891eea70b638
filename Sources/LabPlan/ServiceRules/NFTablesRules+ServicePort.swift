import LabAddress
import LabSpec

extension NFTablesRules {
    /// One service port, in the order of kube-proxy's per-service loop: its chains first (a
    /// map element or `goto` may only name a chain that exists), then map elements, then the
    /// rules of the service, external, local and endpoint chains.
    static func writeServicePort(_ port: ProxiedServicePort, clusterCIDR: IPv4Network, script: inout NFTablesScript) {
        let names = NFTablesChainNames.self
        let service = port.name.description
        let proto = port.name.protocol
        let (clusterChain, localChain, externalChain) = names.chains(port.name)
        func endpointChain(_ endpoint: ServiceEndpoint) -> String { names.endpointChain(port.name, ip: endpoint.ip, targetPort: endpoint.port) }
        func affinitySet(_ endpoint: ServiceEndpoint) -> String { names.affinitySet(port.name, ip: endpoint.ip, targetPort: endpoint.port) }

        // 1. Chains.
        for endpoint in port.endpoints { script.addChain(endpointChain(endpoint)) }
        if port.hasEndpoints { script.addChain(clusterChain) }
        if port.usesLocalPolicyChain { script.addChain(localChain) }
        if port.hasEndpoints && port.externallyAccessible { script.addChain(externalChain) }

        // 2. Dispatch elements. Without endpoints the ClusterIP goes to reject-chain (an ICMP
        //    error at once); a Local NodePort without local endpoints drops instead.
        script.addElement("cluster-ips", key: "\(port.clusterIP)")
        let serviceKey = "\(port.clusterIP) . \(proto) . \(port.port)"
        if port.hasEndpoints {
            script.addElement("service-ips", key: serviceKey, value: "goto \(clusterChain)")
        } else {
            script.addElement("no-endpoint-services", key: serviceKey, value: "goto reject-chain", comment: service)
        }
        if let nodePort = port.nodePort {
            let nodePortKey = "\(proto) . \(nodePort)"
            if port.hasEndpoints {
                script.addElement("service-nodeports", key: nodePortKey, value: "goto \(externalChain)")
            }
            if !port.hasExternalEndpoints {
                script.addElement("no-endpoint-nodeports", key: nodePortKey,
                                  value: port.hasEndpoints ? "drop" : "goto reject-chain", comment: service)
            }
        }
        guard port.hasEndpoints else { return }

        // 3. Off-cluster clients of the ClusterIP are masqueraded (see IPTablesRules).
        script.addRule(clusterChain, "ip daddr \(port.clusterIP) ip saddr != \(clusterCIDR) jump mark-for-masquerade")

        // 4. NodePort traffic: Cluster masquerades; Local keeps the client address and
        //    short-circuits pods and the node itself to all endpoints.
        if port.externallyAccessible {
            if !port.externalPolicyLocal {
                script.addRule(externalChain, "jump mark-for-masquerade")
            } else {
                script.addRule(externalChain, "ip saddr \(clusterCIDR) goto \(clusterChain)", comment: "short-circuit pod traffic")
                script.addRule(externalChain, "fib saddr type local jump mark-for-masquerade", comment: "masquerade local traffic")
                script.addRule(externalChain, "fib saddr type local goto \(clusterChain)", comment: "short-circuit local traffic")
            }
            if port.hasExternalEndpoints {
                script.addRule(externalChain, "goto \(port.externalPolicyLocal ? localChain : clusterChain)")
            }
        }

        // 5. ClientIP affinity: one timed set per endpoint, filled by the endpoint chain.
        if let timeout = port.affinityTimeoutSeconds {
            for endpoint in port.endpoints {
                script.addSet(affinitySet(endpoint), "type ipv4_addr ; flags dynamic,timeout ; timeout \(timeout)s")
            }
        }

        // 6. Load balancing, then the endpoint chains (hairpin mark, affinity update, DNAT).
        writeEndpointJumps(port, from: clusterChain, to: port.endpoints, script: &script)
        if port.usesLocalPolicyChain {
            writeEndpointJumps(port, from: localChain, to: port.localEndpoints, script: &script)
        }
        for endpoint in port.endpoints {
            let chain = endpointChain(endpoint)
            script.addRule(chain, "ip saddr \(endpoint.ip) jump mark-for-masquerade")
            if port.affinityTimeoutSeconds != nil {
                script.addRule(chain, "update @\(affinitySet(endpoint)) { ip saddr }")
            }
            script.addRule(chain, "meta l4proto \(proto) dnat to \(endpoint.text)")
        }
    }

    /// `writeServiceToEndpointRules`: a client found in an endpoint's affinity set goes
    /// straight there; everyone else gets one uniform random pick, `numgen random mod N`.
    static func writeEndpointJumps(_ port: ProxiedServicePort, from chain: String, to endpoints: [ServiceEndpoint],
                                   script: inout NFTablesScript) {
        let names = NFTablesChainNames.self
        if port.affinityTimeoutSeconds != nil {
            for endpoint in endpoints {
                let set = names.affinitySet(port.name, ip: endpoint.ip, targetPort: endpoint.port)
                script.addRule(chain, "ip saddr @\(set) goto \(names.endpointChain(port.name, ip: endpoint.ip, targetPort: endpoint.port))")
            }
        }
        let choices = endpoints.enumerated().map { i, endpoint in
            "\(i) : goto \(names.endpointChain(port.name, ip: endpoint.ip, targetPort: endpoint.port))"
        }
        script.addRule(chain, "numgen random mod \(endpoints.count) vmap { \(choices.joined(separator: " , ")) }")
    }
}
