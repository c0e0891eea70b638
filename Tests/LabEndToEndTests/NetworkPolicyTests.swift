import Foundation
import Testing

/// NetworkPolicies enforced for real, held against the spec: the upstream e2e suite's 3 × 3
/// model (namespaces x, y, z; pods a, b, c labelled `pod=<name>`, serving 80 and 81 over TCP
/// and UDP as `serve-<port>-<proto>`), each case's policies applied in place to one running
/// lab, then every pod pair probed with `expect: {reach: policy}` — the kernel's verdicts
/// against the evaluator's.
@Suite(.serialized, .enabled(if: isRoot, "builds real namespaces; needs root"))
struct NetworkPolicyTests {
    struct Case: Sendable {
        var name: String
        var policies: String
        var probe = "tcp: {port: 80}"
    }

    /// Upstream names; the evaluator's own tests hold the expected grids.
    static let cases: [Case] = [
        Case(name: "should support a 'default-deny-ingress' policy", policies: """
          - {name: deny-ingress, namespace: x, podSelector: {}, policyTypes: [Ingress]}
        """),
        Case(name: "should support a 'default-deny-all' policy [UDP]", policies: """
          - {name: deny-all, namespace: x, podSelector: {}, policyTypes: [Ingress, Egress]}
        """, probe: "udp: {port: 80}"),
        Case(name: "should enforce policy based on PodSelector and NamespaceSelector", policies: """
          - {name: p, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [x]}]}, podSelector: {matchLabels: {pod: b}}}]}]}
        """),
        Case(name: "should enforce policy based on PodSelector or NamespaceSelector", policies: """
          - {name: p, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [x]}]}}, {podSelector: {matchLabels: {pod: b}}}]}]}
        """),
        Case(name: "should allow ingress access on one named port", policies: """
          - {name: p, namespace: x, podSelector: {}, ingress: [{ports: [{port: serve-81-tcp}]}]}
        """, probe: "tcp: {port: 81}"),
        Case(name: "should allow egress access on one named port (other port closed)", policies: """
          - {name: p, namespace: x, podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: serve-80-tcp}]}]}
        """, probe: "tcp: {port: 81}"),
        Case(name: "should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)", policies: """
          - {name: e, namespace: x, podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}]}]}
          - {name: i, namespace: z, podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: x}}, podSelector: {matchLabels: {pod: a}}}]}]}
        """),
        Case(name: "should enforce except clause while egress access to server in CIDR block", policies: """
          - {name: e, namespace: x, podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.2.3/32]}}]}]}
        """),
        Case(name: "should enforce ingress policy allowing any port traffic to a server on a specific protocol", policies: """
          - {name: p, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{protocol: TCP}]}]}
        """, probe: "udp: {port: 81}"),
        Case(name: "should support creating NetworkPolicy API with endport field", policies: """
          - {name: p, namespace: y, podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {pod: c}}}], ports: [{port: 79, endPort: 80}]}]}
        """),
        // Not upstream's: egress rules of a policy with both types must not open its pods'
        // ingress (an egress rule whose block holds another target's address once did).
        Case(name: "egress rules of a policy with both types do not allow ingress", policies: """
          - {name: q, namespace: y, podSelector: {}, policyTypes: [Ingress, Egress], ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: z}}}]}], egress: [{to: [{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.1.0/24]}}]}]}
        """),
        Case(name: "should stop enforcing policies after they are deleted", policies: ""),
    ]

    static let pods = ["x", "y", "z"].flatMap { ns in ["a", "b", "c"].map { (ns, $0) } }

    static func labText(name: String, network: String, proxy: String = "iptables", policies: String, probe: String) -> String {
        var text = "name: \(name)\ncluster: {network: \(network), proxy: \(proxy)}\nnodes: [{name: node-1}, {name: node-2}]\npods:\n"
        for (index, (ns, pod)) in pods.enumerated() {
            text += "  - {name: \(ns)-\(pod), namespace: \(ns), node: node-\(index % 2 + 1), labels: {pod: \(pod)}, "
            text += "containers: [{name: serve, agent: {tcp: [80, 81], udp: [80, 81]}, ports: [{name: serve-80-tcp, containerPort: 80}, "
            text += "{name: serve-81-tcp, containerPort: 81}, {name: serve-80-udp, containerPort: 80, protocol: UDP}, "
            text += "{name: serve-81-udp, containerPort: 81, protocol: UDP}]}]}\n"
        }
        if !policies.isEmpty { text += "networkPolicies:\n" + policies + "\n" }
        return text + "probes:\n  - {name: grid, matrix: {from: \"*\", to: \"*\"}, \(probe), timeout: 1s, expect: {reach: policy}}\n"
    }

    @Test(arguments: [("routed", "iptables"), ("vxlan", "iptables"), ("routed", "nftables"), ("vxlan", "nftables")])
    func upstreamCasesEnforcedAsTheSpecSays(_ network: String, _ proxy: String) throws {
        let name = uniqueLabName("np\(network.prefix(1))\(proxy.prefix(1))")
        let before = try rootNamespaceSnapshot()
        try withLab(Self.labText(name: name, network: network, proxy: proxy, policies: "", probe: "tcp: {port: 80}"), name: name) { path in
            for testCase in Self.cases {
                try Self.labText(name: name, network: network, proxy: proxy, policies: testCase.policies, probe: testCase.probe)
                    .write(toFile: path, atomically: true, encoding: .utf8)
                let up = try lab("up", path)
                try #require(up.succeeded, "\(testCase.name): lab up failed: \(up.stderr)")
                let verify = try lab("verify", name)
                #expect(verify.succeeded, "\(testCase.name) (\(network), \(proxy)):\n\(verify.stdout)")
                #expect(verify.stdout.contains("no cell differs"), "\(testCase.name): \(verify.stdout.suffix(600))")
            }
        }
        #expect(try rootNamespaceSnapshot() == before, "the host's root namespace changed")
    }

    /// In nftables mode: kube-router's table beside kube-proxy's, loaded in the same `nft -f`.
    @Test func nftablesModeHasKubeRoutersTable() throws {
        let name = uniqueLabName("npnft")
        let policies = "  - {name: p, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.2.0/24]}}]}]}"
        try withLab(Self.labText(name: name, network: "routed", proxy: "nftables", policies: policies, probe: "tcp: {port: 80}"), name: name) { _ in
            let ruleset = try run(["ip", "netns", "exec", "lab.\(name).node.node-1", "nft", "list", "ruleset"]).stdout
            #expect(ruleset.contains("table ip kube-router-filter-ipv4") && ruleset.contains("table ip kube-proxy"))
            #expect(ruleset.contains("chain KUBE-POD-FW-") && ruleset.contains("flags interval"))
            let other = try run(["ip", "netns", "exec", "lab.\(name).node.node-2", "nft", "list", "ruleset"]).stdout
            #expect(!other.contains("kube-router"), "node-2 has no selected pod")
        }
    }

    /// The rules of a node with policies: kube-router's chains, jumped to first, and the sets.
    @Test func theNodeHoldsKubeRoutersLayout() throws {
        let name = uniqueLabName("nplay")
        let policies = "  - {name: p, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: serve-80-tcp}]}]}"
        try withLab(Self.labText(name: name, network: "routed", policies: policies, probe: "tcp: {port: 80}"), name: name) { _ in
            let save = try run(["ip", "netns", "exec", "lab.\(name).node.node-1", "iptables-save", "-t", "filter"]).stdout
            let forward = save.split(separator: "\n").filter { $0.hasPrefix("-A FORWARD ") }
            #expect(forward.first?.contains("-j KUBE-ROUTER-FORWARD") ?? false, "NetworkPolicy's jump is first in FORWARD: \(forward)")
            #expect(save.contains(":KUBE-NWPLCY-COMMON") && save.contains(":KUBE-POD-FW-"))
            #expect(save.contains("-m mark ! --mark 0x10000/0x10000 -j REJECT"))
            let sets = try run(["ip", "netns", "exec", "lab.\(name).node.node-1", "ipset", "list", "-n"]).stdout
            #expect(sets.split(separator: "\n").count == 3, "target, peer and named-port sets: \(sets)")
            // x-a is on node-1 (pods alternate); node-2 has no selected pod and no policy chain.
            let other = try run(["ip", "netns", "exec", "lab.\(name).node.node-2", "iptables-save", "-t", "filter"]).stdout
            #expect(!other.contains("KUBE-ROUTER"))
            let status = try lab("status", name)
            #expect(status.stdout.contains("x/p     Ingress  x-a"), "status lists the policy and what it selects:\n\(status.stdout)")
            #expect(status.stdout.contains("x/x-a  isolated by p  open"))
        }
    }

    /// DNS-shaped traffic: egress allowed only to UDP 53 of one namespace; the rest blocked.
    @Test func dnsShapedUDPAndNamedPortsAsTheSpecSays() throws {
        let name = uniqueLabName("npdns")
        let text = """
        name: \(name)
        nodes: [{name: node-1}, {name: node-2}]
        namespaces: [{name: kube-system}, {name: app}]
        pods:
          - {name: dns, namespace: kube-system, node: node-1, labels: {k8s-app: kube-dns}, containers: [{name: d, agent: {udp: [53], tcp: [53]}, ports: [{name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53}]}]}
          - {name: client, namespace: app, node: node-2, labels: {app: client}, containers: [{name: c, agent: {udp: [53], tcp: [53]}}]}
          - {name: other, namespace: app, node: node-1, labels: {app: other}, containers: [{name: o, agent: {udp: [53], tcp: [53]}}]}
        networkPolicies:
          - name: only-dns
            namespace: app
            podSelector: {matchLabels: {app: client}}
            policyTypes: [Egress]
            egress:
              - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
                ports: [{protocol: UDP, port: dns}]
        probes:
          - {name: udp, matrix: {from: "*", to: "*"}, udp: {port: 53}, timeout: 1s, expect: {reach: policy}}
          - {name: tcp, matrix: {from: "*", to: "*"}, tcp: {port: 53}, timeout: 1s, expect: {reach: policy}}
          - {from: client, to: dns, udp: {port: 53}}
          - {from: client, to: dns, tcp: {port: 53}, expect: {reach: false}}
          - {from: client, to: other, udp: {port: 53}, expect: {reach: false}}
        """
        try withLab(text, name: name) { _ in
            let verify = try lab("verify", name)
            #expect(verify.succeeded, "\(verify.stdout)")
            #expect(verify.stdout.contains("comparison"), "the policy grids get the upstream comparison grid")
        }
    }

    /// Egress to a ClusterIP whose endpoints the policies treat differently: each connection is
    /// judged on the endpoint it was DNATed to, so only the allowed endpoint ever answers and
    /// the others are refused.
    @Test func aClusterIPWithPartlyAllowedEndpoints() throws {
        let name = uniqueLabName("nppart")
        let text = Self.labText(name: name, network: "routed", policies: """
          - {name: only-a, namespace: x, podSelector: {matchLabels: {pod: b}}, policyTypes: [Ingress]}
        """, probe: "tcp: {port: 80}").replacingOccurrences(of: "networkPolicies:", with: """
        services:
          - {name: ab, namespace: x, selector: {svc: ab}, ports: [{port: 80, targetPort: 80}]}
        networkPolicies:
        """).replacingOccurrences(of: "labels: {pod: a}", with: "labels: {pod: a, svc: ab}")
            .replacingOccurrences(of: "name: x-b, namespace: x, node: node-2, labels: {pod: b}", with: "name: x-b, namespace: x, node: node-2, labels: {pod: b, svc: ab}")
        try withLab(text, name: name) { _ in
            let status = try lab("status", name, "--output", "json")
            let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
            let service = try #require((json?["services"] as? [[String: Any]])?.first)
            let clusterIP = try #require(service["clusterIP"] as? String)
            #expect((service["endpoints"] as? [String])?.count == 2, "x-a and x-b (and y-a, z-a carry pod=a in other namespaces)")
            var greetings: [String] = [], refused = 0
            for _ in 0..<16 {
                let result = try run(["ip", "netns", "exec", "lab.\(name).pod.y-c", "bash", "-c",
                                      "exec 3<>/dev/tcp/\(clusterIP)/80 && { IFS= read -r -t 2 greeting <&3; echo \"$greeting\"; }; true"])
                let greeting = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                if greeting.isEmpty { refused += 1 } else { greetings.append(greeting) }
            }
            #expect(Set(greetings) == ["x-a"], "only the allowed endpoint answers: \(greetings)")
            #expect(refused > 0, "connections DNATed to x-b are refused")
        }
    }

    /// A policy that starts denying a pair cuts no connection that is already up (conntrack
    /// accepts established traffic first, as kube-router does); new ones are refused. The lab
    /// has a service, as every cluster does, so the nodes' conntrack tracks flows before the
    /// first policy (a node with no rule at all tracks nothing).
    @Test func aPolicyChangeKeepsEstablishedConnections() throws {
        let name = uniqueLabName("npest")
        let service = "services: [{name: s, namespace: x, selector: {pod: c}, ports: [{port: 80}]}]\nprobes:"
        let open = Self.labText(name: name, network: "routed", policies: "", probe: "tcp: {port: 80}")
            .replacingOccurrences(of: "probes:", with: service)
        try withLab(open, name: name) { path in
            let target = try ipv4Address(in: "lab.\(name).pod.x-a")
            let flag = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).flag").path
            defer { try? FileManager.default.removeItem(atPath: flag) }
            // Connect, read the greeting, wait for the flag, then send and read the echo.
            let client = try BackgroundCommand(["ip", "netns", "exec", "lab.\(name).pod.y-b", "bash", "-c", """
                exec 3<>/dev/tcp/\(target)/80 || exit 9
                IFS= read -r -t 5 greeting <&3; echo "greeting $greeting"
                for i in $(seq 100); do [ -e \(flag) ] && break; sleep 0.1; done
                echo hello >&3; IFS= read -r -t 5 echoed <&3; echo "echo $echoed"
                """])
            #expect(eventually(within: 5) { client.output.contains("greeting x-a") })
            try Self.labText(name: name, network: "routed", policies: """
              - {name: deny, namespace: x, podSelector: {matchLabels: {pod: a}}, policyTypes: [Ingress]}
            """, probe: "tcp: {port: 80}").replacingOccurrences(of: "probes:", with: service)
                .write(toFile: path, atomically: true, encoding: .utf8)
            let up = try lab("up", path)
            try #require(up.succeeded, "\(up.stderr)")
            _ = FileManager.default.createFile(atPath: flag, contents: nil)
            let result = client.wait()
            #expect(result.stdout.contains("echo hello"), "the established connection still flows: \(result.stdout) \(result.stderr)")
            let fresh = try run(["ip", "netns", "exec", "lab.\(name).pod.y-b", "bash", "-c", "exec 3<>/dev/tcp/\(target)/80"])
            #expect(!fresh.succeeded, "a new connection is refused")
        }
    }

    /// A change of policies alone renders only the nodes whose policy chains change: the kernel
    /// state it leaves (every node's filter table and ipsets, or its nftables ruleset) and the
    /// rules `/run/lab` records are exactly those of a fresh `up` of the new file. The change
    /// moves a policy's selection from node-1's pods to node-2's and changes another's peer. It
    /// takes the path that parses the policies' section alone (`--timings` names its phase),
    /// with the unchanged policy between the two taken from the running lab unparsed; a second
    /// change after it does too, from the state the first one left.
    @Test(arguments: [("routed", "iptables"), ("vxlan", "iptables"), ("routed", "nftables")])
    func aPolicyChangeLeavesWhatAFreshUpBuilds(_ network: String, _ proxy: String) throws {
        let name = uniqueLabName("npinc\(network.prefix(1))\(proxy.prefix(1))")
        let service = "services: [{name: s, namespace: x, selector: {pod: c}, ports: [{port: 80}]}]\nprobes:"
        func text(_ policies: String) -> String {
            Self.labText(name: name, network: network, proxy: proxy, policies: policies, probe: "tcp: {port: 80}")
                .replacingOccurrences(of: "probes:", with: service)
        }
        // x-a and x-c are on node-1, x-b on node-2 (pods alternate).
        let before = text("""
          - {name: p, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: serve-80-tcp}]}]}
          - name: r
            namespace: z
            podSelector: {matchLabels: {pod: c}}
            ingress: [{from: [{podSelector: {}}]}]
          - {name: q, namespace: y, podSelector: {}, policyTypes: [Ingress, Egress], ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: x}}}]}], egress: [{to: [{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.1.0/24]}}]}]}
        """)
        let after = text("""
          - {name: p, namespace: x, podSelector: {matchLabels: {pod: b}}, ingress: [{from: [{podSelector: {matchLabels: {pod: c}}}], ports: [{port: serve-80-tcp}]}]}
          - name: r
            namespace: z
            podSelector: {matchLabels: {pod: c}}
            ingress: [{from: [{podSelector: {}}]}]
          - {name: q, namespace: y, podSelector: {}, policyTypes: [Ingress, Egress], ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: z}}}]}], egress: [{to: [{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.1.0/24]}}]}]}
        """)
        var changed: [String: String] = [:]
        try withLab(before, name: name) { path in
            // Once there and back, then there again: each change starts from the last one's state.
            for text in [after, before, after] {
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                let up = try lab("up", "--timings", path)
                try #require(up.succeeded, "\(up.stderr)")
                #expect(up.stdout.contains("changed in place"), "\(up.stdout)")
                #expect(up.stdout.contains("policy section"), "the policies' section alone was parsed:\n\(up.stdout)")
                // `auto` (the default) keeps the lab's neighbour mode without reading the host's table.
                #expect(up.stdout.contains("(as the lab was built; it may need"), "\(up.stdout)")
            }
            changed = try Self.policyState(of: name)
            let status = try lab("status", name)
            #expect(status.stdout.contains("x/p     Ingress         x-b"), "status shows the new policies:\n\(status.stdout)")
        }
        try withLab(after, name: name) { _ in
            let fresh = try Self.policyState(of: name)
            #expect(Set(changed.keys) == Set(fresh.keys))
            for key in fresh.keys.sorted() {
                #expect(changed[key] == fresh[key], "\(key) after the change differs from a fresh up:\n\(changed[key] ?? "(none)")\n---\n\(fresh[key] ?? "")")
            }
        }
    }

    /// A change of anything besides the policies — a pod's label, a namespace's — takes the
    /// whole path (no `policy section` phase) and still leaves what a fresh `up` builds; a
    /// broken policy changes nothing and says what `lab validate` says, with its exit code.
    @Test func otherChangesAndBrokenPoliciesTakeTheWholePath() throws {
        let name = uniqueLabName("npwhole")
        let policies = """
          - {name: p, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: blue}}, podSelector: {matchLabels: {pod: b}}}]}]}
        """
        let base = Self.labText(name: name, network: "routed", policies: policies, probe: "tcp: {port: 80}")
            .replacingOccurrences(of: "pods:\n", with: "namespaces: [{name: y, labels: {team: blue}}]\npods:\n")
        let relabelledPod = base.replacingOccurrences(of: "{name: x-b, namespace: x, node: node-2, labels: {pod: b}",
                                                      with: "{name: x-b, namespace: x, node: node-2, labels: {pod: a}")
        let relabelledNamespace = relabelledPod.replacingOccurrences(of: "labels: {team: blue}", with: "labels: {team: red}")
        #expect(relabelledPod != base && relabelledNamespace != relabelledPod)
        for changed in [relabelledPod, relabelledNamespace] {
            var state: [String: String] = [:]
            try withLab(base, name: name) { path in
                try changed.write(toFile: path, atomically: true, encoding: .utf8)
                let up = try lab("up", "--timings", path)
                try #require(up.succeeded, "\(up.stderr)")
                #expect(up.stdout.contains("changed in place") && !up.stdout.contains("policy section"), "\(up.stdout)")
                state = try Self.policyState(of: name)
            }
            try withLab(changed, name: name) { _ in
                let fresh = try Self.policyState(of: name)
                for key in Set(fresh.keys).union(state.keys).sorted() { #expect(state[key] == fresh[key], "\(key)") }
            }
        }
        try withLab(base, name: name) { path in
            let before = try Self.policyState(of: name)
            let applied = try String(contentsOfFile: "/run/lab/\(name)/lab.yaml", encoding: .utf8)
            for broken in ["{name: p, namespace: x, podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]}",
                           "{name: p, namespace: x, podSelecter: {}}", "{name: p, namespace: x, ingress: [{from: [{podSelector: {}}]"] {
                let text = base.replacingOccurrences(of: policies, with: "  - " + broken)
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                let up = try lab("up", path)
                let validate = try lab("validate", path)
                #expect(up.status == 2 && validate.status == 2, "\(up.status) \(validate.status): \(up.stderr)")
                #expect(up.stderr == validate.stderr, "up says what validate says:\n\(up.stderr)\n---\n\(validate.stderr)")
                #expect(try String(contentsOfFile: "/run/lab/\(name)/lab.yaml", encoding: .utf8) == applied)
                #expect(try Self.policyState(of: name) == before, "a broken policy changes nothing")
            }
        }
    }

    /// Each node's filter table (counters and comments dropped; chains sorted, each chain's
    /// rules in order), its ipsets (sorted: a hash set lists its members in no fixed order),
    /// and the rules files the lab's state keeps.
    static func policyState(of lab: String) throws -> [String: String] {
        var state: [String: String] = [:]
        for node in ["node-1", "node-2"] {
            let netns = "lab.\(lab).node.\(node)"
            let save = try run(["ip", "netns", "exec", netns, "iptables-save", "-t", "filter"]).stdout
            var declared: [String] = [], rules: [String: [String]] = [:]
            for line in save.split(separator: "\n").map(String.init) where !line.hasPrefix("#") {
                if line.hasPrefix(":") {
                    declared.append(String(line.split(separator: " ")[0]))
                } else if line.hasPrefix("-A ") {
                    rules[String(line.split(separator: " ")[1]), default: []].append(line)
                }
            }
            // nftables: the lines of the ruleset, sorted (a set lists its elements in no fixed order).
            state["\(node) nft"] = try run(["ip", "netns", "exec", netns, "nft", "list", "ruleset"]).stdout
                .replacingOccurrences(of: #"counter packets [0-9]+ bytes [0-9]+"#, with: "counter", options: .regularExpression)
                .split(separator: "\n").sorted().joined(separator: "\n")
            state["\(node) iptables"] = declared.sorted().joined(separator: "\n") + "\n"
                + rules.keys.sorted().flatMap { rules[$0]! }.joined(separator: "\n")
            // Each set's hash seed (`initval`) is random.
            state["\(node) ipset"] = try run(["ip", "netns", "exec", netns, "ipset", "save"]).stdout
                .replacingOccurrences(of: #" initval 0x[0-9a-f]+"#, with: "", options: .regularExpression)
                .split(separator: "\n").sorted().joined(separator: "\n")
        }
        let directory = "/run/lab/\(lab)/rules"
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) where !file.hasSuffix(".log") {
            state["file \(file)"] = try String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8)
        }
        return state
    }
}

