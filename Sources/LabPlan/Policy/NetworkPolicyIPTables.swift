import LabSpec

/// kube-router's NetworkPolicy layout for one node, in the filter table it shares with
/// kube-proxy's rules (so one `iptables-restore` loads both), plus the ipsets its rules match
/// (docs/architecture.md, "NetworkPolicy").
///
/// - `KUBE-ROUTER-INPUT/FORWARD/OUTPUT`, jumped to first from the built-in chains, send a
///   packet from or to a local pod that some policy selects into that pod's chain, then accept
///   it if every pod chain it crossed set the "passed" mark.
/// - `KUBE-POD-FW-<hash>` per selected local pod: established traffic and ICMP errors pass
///   (`KUBE-NWPLCY-COMMON`), the pod's own node passes, a direction no policy isolates is
///   marked allowed (`KUBE-NWPLCY-DEFAULT`), then each selecting policy's chain may mark it;
///   unmarked traffic is rejected, marked traffic gets the "passed" mark.
/// - `KUBE-NWPLCY-<hash>` per policy and direction: each allowed (peer, port) is a MARK rule
///   and a RETURN. The pod chain jumps into a policy's ingress chain only with `-d <pod>` and
///   into its egress chain only with `-s <pod>`.
/// - Peers and targets are ipsets of addresses, so rules grow with pods × policies, not pairs.
///
/// One chain per policy and direction is where lab leaves kube-router, which has one chain per
/// policy and jumps into it unconditionally when the policy has both types. There an egress
/// rule (source a target, destination an allowed block) also matches a packet that arrives at
/// a target from another target whose address is in the block, and marks it allowed: the
/// egress rules would open the pod's ingress. A chain per direction decides each direction by
/// that direction's rules alone, as the spec does.
///
/// Names are kube-router's shapes with a content hash instead of its sync time, so the same
/// lab renders the same bytes. Left out: the NFLOG rule (nothing reads it here) and the
/// `physdev` copies of the FORWARD jumps (matching by address already covers bridged traffic).
enum NetworkPolicyIPTables {
    /// "Some rule of this pod chain allowed the packet": cleared at the end of each pod chain.
    static let allowedMark = "0x10000/0x10000"
    /// "Every pod chain on the path passed it": what the top-level chains accept on.
    static let passedMark = "0x20000/0x20000"

    static let input = "KUBE-ROUTER-INPUT", forward = "KUBE-ROUTER-FORWARD", output = "KUBE-ROUTER-OUTPUT"
    static let common = "KUBE-NWPLCY-COMMON", defaultChain = "KUBE-NWPLCY-DEFAULT", tail = "KUBE-NWPLCY-TAIL"
    static let nodePortRange = "30000:32767"

    static func podChain(_ pod: PodTopology) -> String { "KUBE-POD-FW-" + PolicyLayout.hash(pod.namespace + pod.name) }
    /// kube-router's name shape (a hash of the namespace and name) with the direction in the
    /// hash: a policy with both types has two chains.
    static func policyChain(_ policy: NetworkPolicySpec, _ direction: PolicyType) -> String {
        "KUBE-NWPLCY-" + PolicyLayout.hash(policy.namespace + policy.name + (direction == .ingress ? "ingress" : "egress"))
    }

    /// The hooks, first in their built-in chains (kube-router inserts at position 1).
    static let hooks: [(chain: String, target: String)] = [("INPUT", input), ("FORWARD", forward), ("OUTPUT", output)]

    /// The hooks as the lines that start the filter table's rules, in order.
    static let hookLines: [String] = {
        var filter = IPTablesTableText(table: "filter")
        for hook in hooks.reversed() {
            filter.prepend(hook.chain, ["-m", "comment", "--comment", "kube-router netpol", "-j", hook.target])
        }
        return filter.rules
    }()

    /// Writes a node's policy chains (its `layout`) into `filter` and returns the ipsets they
    /// match.
    static func write(_ layout: PolicyLayout, topology: Topology, into filter: inout IPTablesTableText) -> IPSetScript {

        // 1. The shared chains.
        for chain in [input, forward, output, common, defaultChain, tail] { filter.declare(chain) }
        filter.append(common, "-m", "comment", "--comment", "rule to drop invalid state for pod", "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP")
        filter.append(common, "-m", "comment", "--comment", "rule for stateful firewall for pod", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT")
        for (type, what) in icmpAccepted {
            filter.append(common, "-p", "icmp", "-m", "comment", "--comment", "allow icmp \(what)", "-m", "icmp", "--icmp-type", type, "-j", "ACCEPT")
        }
        filter.append(defaultChain, "-m", "comment", "--comment", "rule to mark traffic matching a network policy", "-j", "MARK", "--set-xmark", allowedMark)
        filter.append(tail, "-m", "comment", "--comment", "rule to explicitly ACCEPT traffic that comply to network policies", "-m", "mark", "--mark", passedMark, "-j", "ACCEPT")

        // 2. INPUT's exemptions: services and NodePorts are the proxy's, not the policy's.
        filter.append(input, "-d", topology.serviceCIDR.description, "-m", "comment", "--comment", "allow traffic to primary cluster IP range", "-j", "RETURN")
        for proto in ["tcp", "udp"] {
            filter.append(input, "-p", proto, "-m", "comment", "--comment", "allow LOCAL \(proto.uppercased()) traffic to node ports",
                          "-m", "addrtype", "--dst-type", "LOCAL", "-m", "multiport", "--dports", nodePortRange, "-j", "RETURN")
        }

        // 3. Each selected pod: the jumps into its chain, and the chain.
        for pod in layout.pods {
            writeJumps(pod.pod, into: &filter)
            writePodChain(pod, into: &filter)
        }
        for chain in [input, forward, output] {
            filter.append(chain, "-m", "comment", "--comment", "rule to explicitly ACCEPT traffic that comply to network policies", "-j", tail)
        }

        // 4. Each policy that selects a local pod, per direction it isolates: a MARK and a
        //    RETURN per allowed (peer, port).
        for (policy, allows) in layout.policies {
            for direction in PolicyType.allCases where policy.isolates(direction) { filter.declare(policyChain(policy, direction)) }
            for allow in allows {
                let chain = policyChain(policy, allow.direction)
                let comment = allow.direction == .ingress
                    ? "rule to ACCEPT traffic from source pods to dest pods selected by policy name \(policy.name) namespace \(policy.namespace)"
                    : "rule to ACCEPT traffic from source pods selected by policy name \(policy.name) namespace \(policy.namespace) to dest pods"
                var matches = (allow.proto.map { ["-p", $0] } ?? []) + ["-m", "comment", "--comment", comment]
                for match in allow.sets { matches += ["-m", "set", "--match-set", match.set, match.side.rawValue] }
                if let proto = allow.proto, let ports = allow.ports { matches += ["-m", proto, "--dport", ports] }
                filter.append(chain, matches + ["-j", "MARK", "--set-xmark", allowedMark])
                filter.append(chain, matches + ["-m", "mark", "--mark", allowedMark, "-j", "RETURN"])
            }
        }
        return ipsets(layout.sets)
    }

    /// kube-router's `CommonICMPRules`: echo requests and the errors a connection needs.
    static let icmpAccepted = [("8", "echo requests"), ("3", "destination unreachable messages"), ("11", "time exceeded messages")]

    /// Pods as `hash:ip`; a block as `hash:net` with its `except` as `nomatch` (a `/0` as two
    /// halves: hash:net cannot hold it).
    static func ipsets(_ sets: [PolicyLayout.AddressSet]) -> IPSetScript {
        var script = IPSetScript()
        for set in sets {
            guard set.isBlock else {
                script.add(.init(name: set.name, kind: .ip, members: set.addresses))
                continue
            }
            let blocks = set.addresses.flatMap { $0.hasSuffix("/0") ? ["0.0.0.0/1", "128.0.0.0/1"] : [$0] }
            script.add(.init(name: set.name, kind: .net, members: blocks + set.except.map { "\($0) nomatch" }))
        }
        return script
    }

    private static func writeJumps(_ pod: PodTopology, into filter: inout IPTablesTableText) {
        let ip = "\(pod.ip)/32", chain = podChain(pod), who = "POD name:\(pod.name) namespace: \(pod.namespace)"
        filter.append(input, "-s", ip, "-m", "comment", "--comment", "rule to jump traffic from \(who) to chain \(chain)", "-j", chain)
        for (flag, direction) in [("-d", "destined to"), ("-s", "from")] {
            filter.append(forward, flag, ip, "-m", "comment", "--comment", "rule to jump traffic \(direction) \(who) to chain \(chain)", "-j", chain)
            filter.append(output, flag, ip, "-m", "comment", "--comment", "rule to jump traffic \(direction) \(who) to chain \(chain)", "-j", chain)
        }
    }

    private static func writePodChain(_ chainOf: PolicyLayout.PodChain, into filter: inout IPTablesTableText) {
        let pod = chainOf.pod, chain = podChain(pod), ip = "\(pod.ip)/32"
        filter.declare(chain)
        filter.append(chain, "-m", "comment", "--comment", "rule for stateful firewall for pod", "-j", common)
        filter.append(chain, "-s", ip, "-d", ip, "-m", "comment", "--comment", "a pod's traffic to itself is not filtered", "-j", "ACCEPT")
        filter.append(chain, "-d", ip, "-m", "comment", "--comment", "rule to permit the traffic to pods when source is the pod's local node",
                      "-m", "addrtype", "--src-type", "LOCAL", "-j", "ACCEPT")
        if chainOf.egress.isEmpty {
            filter.append(chain, "-s", ip, "-m", "comment", "--comment", "run through default egress network policy chain", "-j", defaultChain)
        }
        if chainOf.ingress.isEmpty {
            filter.append(chain, "-d", ip, "-m", "comment", "--comment", "run through default ingress network policy chain", "-j", defaultChain)
        }
        for policy in chainOf.policies {
            if chainOf.ingress.contains(policy) {
                filter.append(chain, "-d", ip, "-m", "comment", "--comment", "run through nw policy \(policy.name) ingress rules",
                              "-j", policyChain(policy, .ingress))
            }
            if chainOf.egress.contains(policy) {
                filter.append(chain, "-s", ip, "-m", "comment", "--comment", "run through nw policy \(policy.name) egress rules",
                              "-j", policyChain(policy, .egress))
            }
        }
        filter.append(chain, "-m", "comment", "--comment", "rule to REJECT traffic destined for POD name:\(pod.name) namespace: \(pod.namespace)",
                      "-m", "mark", "!", "--mark", allowedMark, "-j", "REJECT", "--reject-with", "icmp-port-unreachable")
        filter.append(chain, "-j", "MARK", "--set-xmark", "0x0/0x10000")
        filter.append(chain, "-m", "comment", "--comment", "set mark to ACCEPT traffic that comply to network policies",
                      "-j", "MARK", "--set-xmark", passedMark)
    }
}
