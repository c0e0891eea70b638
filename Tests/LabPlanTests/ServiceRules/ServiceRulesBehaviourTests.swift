import LabAddress
import LabSpec
import Testing
@testable import LabPlan

extension ServiceRulesTests {
    /// What each kind of service must produce, asserted line by line so a failure names the
    /// behaviour that broke (the golden files show the whole text).
    @Suite struct ServiceRulesBehaviourTests {
        static func iptables(_ node: String, _ options: IPTablesRules.Options = .init()) throws -> String {
            let topology = try ServiceRulesFixtures.topology()
            return IPTablesRules.render(topology: topology, node: try #require(topology.node(named: node)), options: options)
        }

        static func nftables(_ node: String) throws -> String {
            let topology = try ServiceRulesFixtures.topology()
            return NFTablesRules.render(topology: topology, node: try #require(topology.node(named: node)))
        }

        static func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

        @Test func endpointsAreSortedAsTextLikeKubeProxy() throws {
            let topology = try ServiceRulesFixtures.topology()
            let web = try #require(ProxiedServicePort.all(in: topology, node: "node-1").first { $0.name.description == "default/web:http" })
            #expect(web.endpoints.map(\.text) == ["10.244.1.10:8080", "10.244.1.2:8080", "10.244.2.2:8080"])
            #expect(web.localEndpoints.map(\.text) == ["10.244.1.10:8080", "10.244.1.2:8080"])
        }

        @Test func clusterIPWithThreeEndpoints() throws {
            let text = try Self.iptables("node-1")
            let svc = IPTablesChainNames.serviceChain(ServicePortName(namespace: "default", name: "web", port: "http", protocol: "tcp"))
            let rules = Self.lines(text).filter { $0.hasPrefix("-A \(svc) ") }
            #expect(rules.count == 4)
            #expect(rules[0].hasSuffix("! -s 10.244.0.0/16 -j KUBE-MARK-MASQ"))
            #expect(rules[1].contains("\"default/web:http -> 10.244.1.10:8080\" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-"))
            #expect(rules[2].contains("\"default/web:http -> 10.244.1.2:8080\" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-"))
            #expect(rules[3].contains("\"default/web:http -> 10.244.2.2:8080\" -j KUBE-SEP-"))
        }

        /// Headless services have no VIP, so neither mode writes anything for them.
        @Test func headlessProducesNothing() throws {
            for node in ["node-1", "node-2", "node-3"] {
                #expect(!(try Self.iptables(node)).contains("web-headless"))
                #expect(!(try Self.nftables(node)).contains("web-headless"))
            }
        }

        @Test func noEndpointsRejectsInTheFilterTable() throws {
            let restore = RestoreText(try Self.iptables("node-1"))
            let filter = try #require(restore.table("filter"))
            let nat = try #require(restore.table("nat"))
            #expect(filter.rules(in: "KUBE-SERVICES").contains {
                $0.contains("default/empty has no endpoints") && $0.last == "REJECT" && $0.contains("--dport")
            })
            #expect(filter.rules(in: "KUBE-EXTERNAL-SERVICES").contains {
                $0.contains("default/empty-nodeport has no endpoints") && $0.contains("30082") && $0.last == "REJECT"
            })
            // No nat chains at all for it.
            let empty = ServicePortName(namespace: "default", name: "empty", port: "", protocol: "tcp")
            #expect(!nat.chains.contains(IPTablesChainNames.serviceChain(empty)))
            #expect(!nat.rules.contains { $0.arguments.contains("default/empty cluster IP") })
            // nft: straight to reject-chain.
            #expect(try Self.nftables("node-1").contains("add element ip kube-proxy no-endpoint-services { 10.96.0.4 . tcp . 80 comment \"default/empty\" : goto reject-chain }"))
        }

        @Test func unresolvedNamedTargetPortHasNoEndpoints() throws {
            let topology = try ServiceRulesFixtures.topology()
            let metrics = try #require(ProxiedServicePort.all(in: topology, node: "node-1").first { $0.name.port == "metrics" })
            #expect(metrics.unresolvedTargetPort == "metrics")
            #expect(metrics.endpoints.isEmpty)
            #expect(try Self.iptables("node-1").contains("\"default/web:metrics has no endpoints\""))
        }

        @Test func nodePortClusterPolicyMasqueradesAndUsesAllEndpoints() throws {
            let port = ServicePortName(namespace: "default", name: "web-nodeport", port: "", protocol: "tcp")
            let ext = IPTablesChainNames.externalChain(port)
            let text = try Self.iptables("node-3")
            #expect(text.contains("-A KUBE-NODEPORTS -m comment --comment default/web-nodeport -m tcp -p tcp --dport 30080 -j \(ext)"))
            #expect(text.contains("-A \(ext) -m comment --comment \"masquerade traffic for default/web-nodeport external destinations\" -j KUBE-MARK-MASQ"))
            #expect(text.contains("-A \(ext) -j \(IPTablesChainNames.serviceChain(port))"))
        }

        @Test func nodePortLocalPolicyUsesOnlyThisNodesEndpoints() throws {
            let port = ServicePortName(namespace: "default", name: "web-local", port: "http", protocol: "tcp")
            let svl = IPTablesChainNames.localChain(port)
            let ext = IPTablesChainNames.externalChain(port)
            let node1 = try Self.iptables("node-1")
            let svlRules = Self.lines(node1).filter { $0.hasPrefix("-A \(svl) ") }
            #expect(svlRules.count == 2)
            #expect(svlRules.allSatisfy { $0.contains("10.244.1.") })
            #expect(node1.contains("-A \(ext) -j \(svl)"))
            #expect(node1.contains("-A \(ext) -m comment --comment \"pod traffic for default/web-local:http external destinations\" -s 10.244.0.0/16 -j \(IPTablesChainNames.serviceChain(port))"))
            #expect(!node1.contains("\"masquerade traffic for default/web-local:http"))
            // node-2 has exactly one local endpoint: a single unconditional jump.
            let node2svl = Self.lines(try Self.iptables("node-2")).filter { $0.hasPrefix("-A \(svl) ") }
            #expect(node2svl.count == 1 && !node2svl[0].contains("statistic") && node2svl[0].contains("10.244.2.2:8080"))
        }

        @Test func nodePortLocalPolicyWithoutLocalEndpointsDrops() throws {
            let port = ServicePortName(namespace: "default", name: "web-local", port: "http", protocol: "tcp")
            let text = try Self.iptables("node-3")
            #expect(text.contains("-A KUBE-EXTERNAL-SERVICES -m comment --comment \"default/web-local:http has no local endpoints\" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30081 -j DROP"))
            #expect(!text.contains(IPTablesChainNames.localChain(port)))
            // The EXT chain still short-circuits pods and the node itself, but has no final jump.
            let ext = Self.lines(text).filter { $0.hasPrefix("-A \(IPTablesChainNames.externalChain(port)) ") }
            #expect(ext.count == 3)
            let nft = try Self.nftables("node-3")
            #expect(nft.contains("add element ip kube-proxy no-endpoint-nodeports { tcp . 30081 comment \"default/web-local:http\" : drop }"))
            #expect(!nft.contains(NFTablesChainNames.localChain(port)))
        }

        @Test func clientIPAffinity() throws {
            let port = ServicePortName(namespace: "default", name: "sticky", port: "", protocol: "tcp")
            let text = try Self.iptables("node-1")
            let svc = Self.lines(text).filter { $0.hasPrefix("-A \(IPTablesChainNames.serviceChain(port)) ") }
            // masquerade rule, 3 recent checks, 3 load-balancing rules
            #expect(svc.count == 7)
            for line in svc[1...3] {
                let sep = String(line.split(separator: " ").last!)
                #expect(line.contains("-m recent --name \(sep) --rcheck --seconds 600 --reap -j \(sep)"))
                #expect(text.contains("-A \(sep) -m comment --comment default/sticky -m recent --name \(sep) --set -m tcp -p tcp -j DNAT --to-destination"))
            }
            let nft = try Self.nftables("node-1")
            let set = NFTablesChainNames.affinitySet(port, ip: IPv4Address("10.244.1.2")!, targetPort: 8080)
            #expect(nft.contains("add set ip kube-proxy \(set) { type ipv4_addr ; flags dynamic,timeout ; timeout 600s ; }"))
            #expect(nft.contains("ip saddr @\(set) goto \(NFTablesChainNames.endpointChain(port, ip: IPv4Address("10.244.1.2")!, targetPort: 8080))"))
            #expect(nft.contains("update @\(set) { ip saddr }"))
        }

        @Test func udpAndSCTPPorts() throws {
            let text = try Self.iptables("node-1")
            #expect(text.contains("-A KUBE-SERVICES -m comment --comment \"kube-system/kube-dns:dns cluster IP\" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-"))
            #expect(text.contains("-m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.2.3:53"))
            #expect(text.contains("-m sctp -p sctp -d 10.96.0.10 --dport 53"))
            let nft = try Self.nftables("node-1")
            #expect(nft.contains("add element ip kube-proxy service-ips { 10.96.0.10 . udp . 53 : goto service-"))
            #expect(nft.contains("meta l4proto udp dnat to 10.244.2.3:53"))
            #expect(nft.contains("meta l4proto sctp dnat to 10.244.2.3:53"))
        }

        @Test func hairpinTrafficIsMarkedInEveryEndpointChain() throws {
            let restore = RestoreText(try Self.iptables("node-2"))
            let nat = try #require(restore.table("nat"))
            for chain in nat.chains where chain.hasPrefix("KUBE-SEP-") {
                let first = try #require(nat.rules(in: chain).first)
                let source = try #require(first.firstIndex(of: "-s").map { first[$0 + 1] })
                #expect(first.last == "KUBE-MARK-MASQ")
                #expect(nat.rules(in: chain).last!.last!.hasPrefix(source + ":"), "\(chain): hairpin source is not its endpoint")
            }
        }

        @Test func nftablesNodePortsAnswerOnTheNodeAddress() throws {
            let topology = try ServiceRulesFixtures.topology()
            let node = try #require(topology.node(named: "node-2"))
            #expect(NFTablesRules.render(topology: topology, node: node).contains("add element ip kube-proxy nodeport-ips { \(node.ip) }"))
        }

        @Test func localhostNodePortsOption() throws {
            let off = try Self.iptables("node-1")
            #expect(off.contains("-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS"))
            #expect(!off.contains("KUBE-FIREWALL"))
            let on = try Self.iptables("node-1", .init(localhostNodePorts: true))
            #expect(on.contains("-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS"))
            #expect(on.contains(":KUBE-FIREWALL - [0:0]"))
        }

        /// Same topology, same bytes; and the file order of services does not leak into the text.
        @Test func deterministic() throws {
            let topology = try ServiceRulesFixtures.topology()
            var shuffled = ServiceRulesFixtures.lab()
            shuffled.services.reverse()
            for service in shuffled.services.indices where shuffled.services[service].clusterIP == .automatic {
                // Keep the same ClusterIPs despite the new allocation order.
                let ip = try #require(topology.services.first { $0.name == shuffled.services[service].name }?.clusterIP)
                shuffled.services[service].clusterIP = .address(ip)
            }
            let reordered = try TopologyBuilder.build(shuffled)
            for node in topology.nodes {
                let first = IPTablesRules.render(topology: topology, node: node)
                #expect(first == IPTablesRules.render(topology: topology, node: node))
                #expect(first == IPTablesRules.render(topology: reordered, node: node))
                #expect(NFTablesRules.render(topology: topology, node: node) == NFTablesRules.render(topology: reordered, node: node))
            }
        }
    }
}
