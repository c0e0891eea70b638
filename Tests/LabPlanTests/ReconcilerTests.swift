import LabAddress
@testable import LabSpec
import Testing
@testable import LabPlan

/// The difference plans of `lab up` on a running lab, checked as data: what is touched, what is
/// not, and in which order.
@Suite struct ReconcilerTests {
    let file = Fixtures.threeNetworks()
    var old: Topology { try! TopologyBuilder.build(file) }

    func changed(_ edit: (inout LabFile) -> Void) throws -> (Topology, Plan) {
        var copy = file
        edit(&copy)
        let new = try TopologyBuilder.build(copy, previous: old)
        return (new, Reconciler.plan(from: old, to: new))
    }

    /// Every namespace an operation of the plan touches.
    func touched(_ plan: Plan) -> Set<String> {
        Set(plan.operations.flatMap(\.owners))
    }

    @Test func anUnchangedLabNeedsNothing() {
        let plan = Reconciler.plan(from: old, to: old)
        #expect(plan.operations.isEmpty)
        #expect(plan.incremental)
    }

    @Test func anAddedPodTouchesOnlyItselfItsNodeAndTheServiceRules() throws {
        let (new, plan) = try changed { $0.pods.append(PodSpec(name: "f", node: "node-4")) }
        let pod = try #require(new.pod(named: "f"))
        let node = try #require(new.node(named: "node-4"))
        #expect(plan.operations.first == .createNetns(pod.netns))
        #expect(plan.operations.contains(.addVeth(pod.veth, master: "cni0")))
        #expect(touched(plan) == [pod.netns, node.netns])
        #expect(!plan.operations.contains { if case .deleteNetns = $0 { return true } else { return false } })
        // Nothing is created twice: the node's own links are there already.
        #expect(!plan.operations.contains { if case .addBridge = $0 { return true } else { return false } })
    }

    @Test func addingAPodAtTheTopRenumbersNothing() throws {
        let (new, _) = try changed { $0.pods.insert(PodSpec(name: "first", node: "node-1"), at: 0) }
        for pod in old.pods { #expect(new.pod(named: pod.name)?.ip == pod.ip, "\(pod.name) moved") }
        for node in old.nodes {
            #expect(new.node(named: node.name)?.ip == node.ip)
            #expect(new.node(named: node.name)?.podCIDR == node.podCIDR)
        }
        for service in old.services { #expect(new.services.first { $0.name == service.name }?.clusterIP == service.clusterIP) }
        #expect(new.pod(named: "first")?.ip == IPv4Address("10.244.2.6"), "the next free address of node-1's podCIDR (a .3, b .2, c .4, coredns .5)")
    }

    @Test func aRemovedPodLosesItsVethAtOnceThenItsNamespace() throws {
        let gone = try #require(old.pod(named: "e"))
        let (_, plan) = try changed { $0.pods.removeAll { $0.name == "e" } }
        // The kernel tears a deleted namespace down later (never while a process is inside),
        // so the veth is deleted from the node first: its name is free at once.
        let veth = try #require(plan.operations.firstIndex(of: .deleteLink(netns: gone.veth.netns, name: gone.veth.name)))
        let namespace = try #require(plan.operations.firstIndex(of: .deleteNetns(gone.netns)))
        #expect(veth < namespace)
        #expect(plan.operations.filter { if case .deleteLink = $0 { return true } else { return false } }.count == 1)
        #expect(!plan.operations.contains { if case .createNetns = $0 { return true } else { return false } })
    }

    @Test func aRemovedNodeWhosePodMovesFreesTheVethNameBeforeItIsReused() throws {
        // Pod e moves from node-4 (removed) to node-3: the pod's eth0 must be gone before
        // node-3 creates a new veth whose peer is eth0 in the same pod namespace.
        let pod = try #require(old.pod(named: "e"))
        let (new, plan) = try changed { file in
            file.nodes.removeAll { $0.name == "node-4" }
            let index = file.pods.firstIndex { $0.name == "e" }!
            file.pods[index].node = "node-3"
        }
        let moved = try #require(new.pod(named: "e"))
        let deletion = try #require(plan.operations.firstIndex(of: .deleteLink(netns: pod.veth.peerNetns, name: pod.veth.peerName)))
        let creation = try #require(plan.operations.firstIndex(of: .addVeth(moved.veth, master: "cni0")))
        #expect(deletion < creation)
        #expect(plan.operations.contains(.deleteNetns(pod.veth.netns)))
    }

    @Test func aPodThatMovesNodeGetsANewVethAndKeepsItsNamespace() throws {
        let before = try #require(old.pod(named: "c"))
        let (new, plan) = try changed { file in
            let index = file.pods.firstIndex { $0.name == "c" }!
            file.pods[index].node = "node-4"
        }
        let after = try #require(new.pod(named: "c"))
        #expect(after.netns == before.netns)
        #expect(plan.operations.contains(.deleteLink(netns: before.veth.netns, name: before.veth.name)))
        #expect(plan.operations.contains(.addVeth(after.veth, master: "cni0")))
        #expect(!plan.operations.contains(.createNetns(after.netns)))
        #expect(plan.operations.contains(.addAddress(netns: after.netns, link: "eth0", address: after.ip, prefixLength: 24)))
        // Removals come before additions.
        let removal = try #require(plan.operations.firstIndex(of: .deleteLink(netns: before.veth.netns, name: before.veth.name)))
        let addition = try #require(plan.operations.firstIndex(of: .addVeth(after.veth, master: "cni0")))
        #expect(removal < addition)
    }

    @Test func aChangedNodeAddressIsRemovedWithItsRoutesBeforeTheNewOneIsAdded() throws {
        let node = try #require(old.node(named: "node-4"))
        let (_, plan) = try changed { file in
            let index = file.nodes.firstIndex { $0.name == "node-4" }!
            file.nodes[index].ip = IPv4Address("10.10.0.77")!
        }
        let removal = try #require(plan.operations.firstIndex(of: .deleteAddress(netns: node.netns, link: "eth0", address: node.ip, prefixLength: 24)))
        let addition = try #require(plan.operations.firstIndex(of: .addAddress(netns: node.netns, link: "eth0", address: IPv4Address("10.10.0.77")!, prefixLength: 24)))
        #expect(removal < addition)
        // Other nodes route to node-4's pods through the gateway (another network): unchanged.
        // The fabric's route to node-4's podCIDR goes via the node's IP: replaced.
        let fabricRoute = plan.operations.contains {
            if case .deleteRoute(old.fabricNetns, node.podCIDR, node.ip, _) = $0 { return true } else { return false }
        }
        #expect(fabricRoute)
    }

    @Test func anAddressThatChangesOwnerIsForgottenByItsNeighbours() throws {
        let a = try #require(old.pod(named: "a")), c = try #require(old.pod(named: "c"))
        let (_, plan) = try changed { file in
            file.pods[file.pods.firstIndex { $0.name == "a" }!].ip = c.ip
            file.pods[file.pods.firstIndex { $0.name == "c" }!].ip = a.ip
        }
        let node = try #require(old.node(named: "node-1"))
        let b = try #require(old.pod(named: "b"))
        for address in [a.ip, c.ip] {
            #expect(plan.operations.contains(.forgetNeighbor(netns: node.netns, link: "cni0", address: address)))
            #expect(plan.operations.contains(.forgetNeighbor(netns: b.netns, link: "eth0", address: address)))
        }
        // A pod is not asked about the address it now has, and pods elsewhere are not asked.
        #expect(!plan.operations.contains(.forgetNeighbor(netns: a.netns, link: "eth0", address: c.ip)))
        #expect(!plan.operations.contains { operation in
            if case .forgetNeighbor(let namespace, _, _) = operation { return namespace == old.pod(named: "e")!.netns }
            return false
        })
        // An unchanged lab forgets nothing.
        #expect(Reconciler.staleNeighbors(old: old, new: old).isEmpty)
    }

    @Test func servicesChangeOnlyTheirRulesAndFlushUDPFlowsOfLostEndpoints() throws {
        var file = self.file
        file.services.append(ServiceSpec(name: "dns", selector: ["app": "web"],
                                         ports: [ServicePortSpec(name: "dns", port: 53, protocol: .udp)]))
        let old = try TopologyBuilder.build(file)
        var edited = file
        let index = edited.pods.firstIndex { $0.name == "d" }!
        edited.pods[index].labels = [:]
        let new = try TopologyBuilder.build(edited, previous: old)
        let plan = Reconciler.plan(from: old, to: new)
        let gone = try #require(old.pod(named: "d"))
        let dns = try #require(new.services.first { $0.name == "dns" }?.clusterIP)
        // Only rules and conntrack: no link, address or namespace changes.
        #expect(plan.operations.allSatisfy {
            switch $0 {
            case .loadFirewall, .flushConntrack: return true
            default: return false
            }
        })
        for node in new.nodes {
            #expect(plan.operations.contains(.flushConntrack(netns: node.netns, filter: ConntrackFilter(
                protocol: "udp", originalDestination: dns, originalDestinationPort: 53, natDestination: gone.ip))))
        }
        // The partial rules declare (flush) only the chains that changed: the untouched
        // service's chains are not in the input.
        guard case .loadFirewall(_, _, let rules) = try #require(plan.operations.first) else { Issue.record("no rules"); return }
        #expect(!rules.contains("*filter\n:KUBE-FORWARD"))
        #expect(rules.contains("-X KUBE-SEP-"), "the lost endpoint's chains are deleted")
    }
}

@Suite struct FirewallDiffTests {
    let old = """
        *filter
        :KUBE-SERVICES - [0:0]
        -A KUBE-SERVICES -d 10.96.0.9 -j REJECT
        -A INPUT -j KUBE-SERVICES
        COMMIT
        *nat
        :KUBE-SERVICES - [0:0]
        :KUBE-SVC-A - [0:0]
        :KUBE-SEP-A1 - [0:0]
        :KUBE-SVC-B - [0:0]
        -A KUBE-SERVICES -d 10.96.0.1 -j KUBE-SVC-A
        -A KUBE-SERVICES -d 10.96.0.2 -j KUBE-SVC-B
        -A KUBE-SVC-A -j KUBE-SEP-A1
        -A KUBE-SEP-A1 -j DNAT --to-destination 10.244.1.2:80
        -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
        COMMIT

        """

    @Test func iptablesRewritesOnlyChangedChainsAndDeletesGoneOnes() {
        let new = old
            .replacingOccurrences(of: ":KUBE-SEP-A1 - [0:0]\n", with: "")
            .replacingOccurrences(of: "-A KUBE-SVC-A -j KUBE-SEP-A1\n-A KUBE-SEP-A1 -j DNAT --to-destination 10.244.1.2:80\n",
                                  with: "-A KUBE-SVC-A -j REJECT\n")
        let change = IPTablesRestoreDiff.change(from: old, to: new)
        #expect(change == """
            *nat
            :KUBE-SVC-A - [0:0]
            :KUBE-SEP-A1 - [0:0]
            -A KUBE-SVC-A -j REJECT
            -X KUBE-SEP-A1
            COMMIT

            """)
    }

    @Test func iptablesEditsHookRulesOneByOneAndSaysNothingWhenNothingChanged() {
        #expect(IPTablesRestoreDiff.change(from: old, to: old) == "")
        let removal = IPTablesRestoreDiff.change(from: old, to: "")
        #expect(removal.contains("-D PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"))
        #expect(removal.contains("-D INPUT -j KUBE-SERVICES"))
        #expect(removal.contains("-X KUBE-SVC-B"))
        // Hook rules go before the chains they jump to are deleted, table by table.
        let nat = String(removal[removal.range(of: "*nat")!.lowerBound...])
        let hook = nat.range(of: "-D PREROUTING")!.lowerBound
        let chain = nat.range(of: "-X KUBE-SERVICES")!.lowerBound
        #expect(hook < chain)
    }

    @Test func nftablesFlushesChangedChainsAndMapsAndDeletesGoneChainsLast() {
        let old = """
            add table ip kube-proxy
            add chain ip kube-proxy services
            add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }
            add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
            add chain ip kube-proxy service-A
            add chain ip kube-proxy endpoint-A1
            add rule ip kube-proxy service-A goto endpoint-A1
            add rule ip kube-proxy endpoint-A1 dnat to 10.244.1.2:80
            add element ip kube-proxy service-ips { 10.96.0.1 . tcp . 80 : goto service-A }

            """
        let new = """
            add table ip kube-proxy
            add chain ip kube-proxy services
            add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }
            add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
            add chain ip kube-proxy service-B
            add chain ip kube-proxy endpoint-B1
            add rule ip kube-proxy service-B goto endpoint-B1
            add rule ip kube-proxy endpoint-B1 dnat to 10.244.1.3:80
            add element ip kube-proxy service-ips { 10.96.0.2 . tcp . 80 : goto service-B }

            """
        let change = NFTablesDiff.change(from: old, to: new)
        #expect(change == """
            add chain ip kube-proxy service-B
            add chain ip kube-proxy endpoint-B1
            flush map ip kube-proxy service-ips
            add element ip kube-proxy service-ips { 10.96.0.2 . tcp . 80 : goto service-B }
            add rule ip kube-proxy service-B goto endpoint-B1
            add rule ip kube-proxy endpoint-B1 dnat to 10.244.1.3:80
            flush chain ip kube-proxy service-A
            flush chain ip kube-proxy endpoint-A1
            delete chain ip kube-proxy service-A
            delete chain ip kube-proxy endpoint-A1

            """)
        #expect(NFTablesDiff.change(from: old, to: old) == "")
        #expect(NFTablesDiff.change(from: old, to: "") == "delete table ip kube-proxy\n")
        #expect(NFTablesDiff.change(from: "", to: new) == new)
    }
}
