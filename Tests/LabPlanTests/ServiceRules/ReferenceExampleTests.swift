import LabSpec
import Testing
@testable import LabPlan

extension ServiceRulesTests {
    /// The worked example of reference/k8s-datapath.md (§1.1, §1.3, §1.8), which records what
    /// kube-proxy writes for `ns1/svc1:p80`. Its lines are copied here verbatim and must appear,
    /// in this order, in what `lab` renders for the same service.
    @Suite struct ReferenceExampleTests {
        static func isSubsequence(_ expected: [String], of actual: [String]) -> (Bool, String?) {
            var index = actual.startIndex
            for line in expected {
                guard let found = actual[index...].firstIndex(of: line) else { return (false, line) }
                index = found + 1
            }
            return (true, nil)
        }

        /// §1.3, including the SEP rules the document abbreviates as "same two-rule shape".
        /// `localhostNodePorts` is on, as in kube-proxy's default that the example shows.
        @Test func iptablesNatMatchesTheReference() throws {
            let topology = try ServiceRulesFixtures.referenceExample()
            let node = try #require(topology.node(named: "node-1"))
            let rendered = IPTablesRules.render(topology: topology, node: node, options: .init(localhostNodePorts: true))
                .split(separator: "\n").map(String.init)
            let expected = [
                #"-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O"#,
                #"-A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp --dport 30080 -j KUBE-EXT-XPGD46QRK7WJZT7O"#,
                #"-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ"#,
                #"-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j KUBE-MARK-MASQ"#,
                #"-A KUBE-EXT-XPGD46QRK7WJZT7O -j KUBE-SVC-XPGD46QRK7WJZT7O"#,
                #"-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.1.2:8080" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-HJ4XRC6RYIVW74AV"#,
                #"-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.1.3:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-U2BF2LENKUUQ43DM"#,
                #"-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.2.2:8080" -j KUBE-SEP-ZUKSS42JQPVOXAAY"#,
                #"-A KUBE-SEP-HJ4XRC6RYIVW74AV -m comment --comment ns1/svc1:p80 -s 10.244.1.2 -j KUBE-MARK-MASQ"#,
                #"-A KUBE-SEP-HJ4XRC6RYIVW74AV -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:8080"#,
                #"-A KUBE-SEP-U2BF2LENKUUQ43DM -m comment --comment ns1/svc1:p80 -s 10.244.1.3 -j KUBE-MARK-MASQ"#,
                #"-A KUBE-SEP-U2BF2LENKUUQ43DM -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:8080"#,
                #"-A KUBE-SEP-ZUKSS42JQPVOXAAY -m comment --comment ns1/svc1:p80 -s 10.244.2.2 -j KUBE-MARK-MASQ"#,
                #"-A KUBE-SEP-ZUKSS42JQPVOXAAY -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:8080"#,
                #"-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS"#,
            ]
            let (ok, missing) = Self.isSubsequence(expected, of: rendered)
            #expect(ok, "not found in order: \(missing ?? "")")
        }

        /// §1.1's fixed rules (with `--random-fully`, which kube-proxy adds when supported).
        @Test func iptablesFixedRulesMatchTheReference() throws {
            let topology = try ServiceRulesFixtures.referenceExample()
            let rendered = IPTablesRules.render(topology: topology, node: topology.nodes[0]).split(separator: "\n").map(String.init)
            for line in [
                "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000",
                "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
                "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000",
                #"-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully"#,
                "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
                #"-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT"#,
                #"-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"#,
            ] {
                #expect(rendered.contains(line), "missing: \(line)")
            }
        }

        /// §1.1's hooks: nat PREROUTING/OUTPUT → KUBE-SERVICES, POSTROUTING → KUBE-POSTROUTING,
        /// and the filter jumps, NEW-only where the reference says so.
        @Test func hookRulesMatchTheReference() {
            let hooks = IPTablesRules.hookRules().map { "\($0.table) \($0.restoreLine)" }
            for line in [
                #"nat -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES"#,
                #"nat -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES"#,
                #"nat -A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING"#,
                #"filter -A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES"#,
                #"filter -A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES"#,
                #"filter -A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES"#,
                #"filter -A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES"#,
                #"filter -A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS"#,
                #"filter -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD"#,
                #"filter -A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL"#,
            ] {
                #expect(hooks.contains(line), "missing hook: \(line)")
            }
            let prerouting = IPTablesRules.hookRules().first { $0.chain == "PREROUTING" }
            #expect(prerouting?.checkArguments == ["-t", "nat", "-C", "PREROUTING", "-m", "comment", "--comment",
                                                   "kubernetes service portals", "-j", "KUBE-SERVICES"])
            #expect(prerouting?.insertArguments.prefix(4) == ["-t", "nat", "-I", "PREROUTING"])
        }

        /// In the buffer the hooks must leave each built-in chain as successive `-I` would.
        @Test func hooksInTheBufferKeepThePrependOrder() throws {
            let topology = try ServiceRulesFixtures.referenceExample()
            let restore = RestoreText(IPTablesRules.render(topology: topology, node: topology.nodes[0], options: .init(hooksInBuffer: true)))
            let forward = try #require(restore.table("filter")).rules(in: "FORWARD").map { $0.last! }
            // Ensured in the order EXTERNAL-SERVICES, SERVICES, FORWARD, PROXY-FIREWALL; each went first.
            #expect(forward == ["KUBE-PROXY-FIREWALL", "KUBE-FORWARD", "KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES"])
            let nat = try #require(restore.table("nat"))
            #expect(nat.rules(in: "PREROUTING").map { $0.last! } == ["KUBE-SERVICES"])
            #expect(nat.rules(in: "POSTROUTING").map { $0.last! } == ["KUBE-POSTROUTING"])
        }

        /// §1.8, and the base layout of kube-proxy's `baseRules` (nft mode).
        @Test func nftablesMatchesTheReference() throws {
            let topology = try ServiceRulesFixtures.referenceExample()
            let node = try #require(topology.node(named: "node-1"))
            let rendered = NFTablesRules.render(topology: topology, node: node).split(separator: "\n").map(String.init)
            let expected = [
                "add chain ip kube-proxy filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }",
                "add chain ip kube-proxy filter-output-pre-dnat { type filter hook output priority -110 ; }",
                "add chain ip kube-proxy filter-input { type filter hook input priority 0 ; }",
                "add chain ip kube-proxy filter-forward { type filter hook forward priority 0 ; }",
                "add chain ip kube-proxy filter-output { type filter hook output priority 0 ; }",
                "add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }",
                "add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }",
                "add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }",
                "add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000",
                "add rule ip kube-proxy masquerading mark and 0x4000 == 0 return",
                "add rule ip kube-proxy masquerading mark set mark xor 0x4000",
                "add rule ip kube-proxy masquerading masquerade fully-random",
                "add rule ip kube-proxy cluster-ips-check ip daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\"",
                "add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips",
                "add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports",
                "add chain ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80",
                "add chain ip kube-proxy external-ULMVA6XW-ns1/svc1/tcp/p80",
                "add element ip kube-proxy cluster-ips { 172.30.0.41 }",
                "add element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 : goto service-ULMVA6XW-ns1/svc1/tcp/p80 }",
                "add element ip kube-proxy service-nodeports { tcp . 30080 : goto external-ULMVA6XW-ns1/svc1/tcp/p80 }",
                "add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 ip daddr 172.30.0.41 ip saddr != 10.244.0.0/16 jump mark-for-masquerade",
                "add rule ip kube-proxy external-ULMVA6XW-ns1/svc1/tcp/p80 jump mark-for-masquerade",
                "add rule ip kube-proxy external-ULMVA6XW-ns1/svc1/tcp/p80 goto service-ULMVA6XW-ns1/svc1/tcp/p80",
                "add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 numgen random mod 3 vmap { 0 : goto endpoint-Z3J52OID-ns1/svc1/tcp/p80__10.244.1.2/8080 , 1 : goto endpoint-XW3NH2ED-ns1/svc1/tcp/p80__10.244.1.3/8080 , 2 : goto endpoint-OQOK5YG2-ns1/svc1/tcp/p80__10.244.2.2/8080 }",
                "add rule ip kube-proxy endpoint-Z3J52OID-ns1/svc1/tcp/p80__10.244.1.2/8080 ip saddr 10.244.1.2 jump mark-for-masquerade",
                "add rule ip kube-proxy endpoint-Z3J52OID-ns1/svc1/tcp/p80__10.244.1.2/8080 meta l4proto tcp dnat to 10.244.1.2:8080",
            ]
            let (ok, missing) = Self.isSubsequence(expected, of: rendered)
            #expect(ok, "not found in order: \(missing ?? "")")
        }
    }
}
