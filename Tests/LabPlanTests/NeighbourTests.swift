import LabAddress
@testable import LabSpec
import Testing
@testable import LabPlan

/// The lab's worst-case neighbour entries, the permanent entries of `static` mode, how `auto`
/// decides, and how a change to a static lab keeps exactly the right entries.
@Suite struct NeighbourTests {
    // MARK: Shapes

    /// One network, `nodes` nodes, pods spread round-robin (the generator of the issue's table).
    /// Without the cluster DNS, so each count below is of exactly the pods written here
    /// (`theDNSPodCountsLikeAnyOtherPod` covers the DNS pod).
    static func generated(name: String = "gen", nodes: Int, pods: Int, network: NetworkMode = .routed,
                          neighbours: NeighbourMode = .auto) -> LabFile {
        LabFile(name: name, cluster: ClusterSpec(network: network, neighbours: neighbours, dns: nil),
                nodes: (1...nodes).map { NodeSpec(name: "node-\($0)") },
                pods: (0..<pods).map { PodSpec(name: "pod-\($0)", node: "node-\($0 % nodes + 1)") })
    }

    static func threeNetworks(_ neighbours: NeighbourMode = .static, network: NetworkMode = .routed) -> LabFile {
        var file = Fixtures.threeNetworks()
        file.cluster.neighbours = neighbours
        file.cluster.network = network
        file.cluster.dns = nil
        return file
    }

    /// The DNS pod is a pod on the first node: it needs what one more pod there needs.
    @Test func theDNSPodCountsLikeAnyOtherPod() throws {
        var withDNS = Self.generated(nodes: 2, pods: 4)
        withDNS.cluster.dns = ClusterDNSSpec()
        let fivePods = try TopologyBuilder.build(Self.generated(nodes: 2, pods: 5))
        let dns = try TopologyBuilder.build(withDNS)
        #expect(dns.dnsPod?.node == "node-1")
        #expect(NeighbourEntries.worstCase(dns) == NeighbourEntries.worstCase(fivePods))
        #expect(NeighbourEntries.all(in: dns).count == NeighbourEntries.all(in: fivePods).count)
    }

    @Test func oneNetworkTwoNodesTwoPodsEach() throws {
        let topology = try TopologyBuilder.build(Self.generated(nodes: 2, pods: 4))
        // The bridge and each of the 2 nodes: 2 each (6); cni0 2 and each pod 2, per node (12).
        #expect(NeighbourEntries.worstCase(topology) == 18)
        #expect(NeighbourEntries.all(in: topology).count == 18)
    }

    @Test func vxlanCountsTheSameAsRoutedForFlannelsEntriesArePermanentAlready() throws {
        let routed = try TopologyBuilder.build(Self.generated(nodes: 3, pods: 7))
        let vxlan = try TopologyBuilder.build(Self.generated(nodes: 3, pods: 7, network: .vxlan))
        #expect(NeighbourEntries.worstCase(routed) == NeighbourEntries.worstCase(vxlan))
        // 3 machines: 3 + 9; pods 3, 2, 2 on the nodes: (3 + 9) + (2 + 4) + (2 + 4).
        #expect(NeighbourEntries.worstCase(vxlan) == 12 + 12 + 6 + 6)
        #expect(NeighbourEntries.all(in: vxlan).count == NeighbourEntries.worstCase(vxlan))
    }

    /// What a lab that is up holds permanently, which `auto` takes off the host's count.
    @Test func permanentEntriesOfALabThatIsUp() throws {
        var routed = try TopologyBuilder.build(Self.generated(nodes: 3, pods: 7))
        routed.neighbours = .arp
        #expect(NeighbourEntries.permanent(in: routed) == 0)
        routed.neighbours = .static
        #expect(NeighbourEntries.permanent(in: routed) == NeighbourEntries.all(in: routed).count)
        var vxlan = try TopologyBuilder.build(Self.generated(nodes: 3, pods: 7, network: .vxlan))
        vxlan.neighbours = .arp
        #expect(NeighbourEntries.permanent(in: vxlan) == 3 * 2, "flannel's: one per remote node on each node")
        vxlan.neighbours = .static
        #expect(NeighbourEntries.permanent(in: vxlan) == 3 * 2 + NeighbourEntries.all(in: vxlan).count)
    }

    @Test func severalNetworksWithAHostCountEachSegmentApart() throws {
        let topology = try TopologyBuilder.build(Self.threeNetworks())
        // rack-1: node-1, node-2 (2 + 4); rack-2: node-3, laptop (2 + 4); rack-3: node-4 (1 + 1);
        // pods: node-1 has a, b, c (3 + 9), node-3 has d (1 + 1), node-4 has e (1 + 1).
        #expect(NeighbourEntries.worstCase(topology) == 6 + 6 + 2 + 12 + 2 + 2)
        #expect(NeighbourEntries.all(in: topology).count == 30)
        #expect(Set(NeighbourEntries.all(in: topology)).count == 30, "no entry twice")
    }

    @Test func aThousandPodsOnTenNodesMayNeedAHundredThousandEntries() throws {
        let topology = try TopologyBuilder.build(Self.generated(nodes: 10, pods: 1000))
        // 10 machines: 10 + 100; 100 pods on each node: 10 × (100 + 10,000).
        #expect(NeighbourEntries.worstCase(topology) == 110 + 101_000)
        #expect(NeighbourEntries.all(in: topology).count == 101_110)
    }

    @Test func aLabWithoutPodsNeedsOnlyItsUnderlay() throws {
        let topology = try TopologyBuilder.build(LabFile(name: "empty", cluster: ClusterSpec(dns: nil), nodes: [NodeSpec(name: "n")]))
        #expect(NeighbourEntries.worstCase(topology) == 2)
    }

    /// Each namespace's entries name exactly its on-link peers, with the MAC their interface has.
    @Test func everyEntryNamesAPeerOnTheLinkWithThePeersOwnMAC() throws {
        let topology = try TopologyBuilder.build(Self.threeNetworks())
        let entries = Set(NeighbourEntries.all(in: topology))
        func of(_ namespace: String) -> Set<NeighbourEntry> { entries.filter { $0.netns == namespace } }
        func entry(_ namespace: String, _ link: String, _ address: IPv4Address, _ mac: MACAddress) -> NeighbourEntry {
            NeighbourEntry(netns: namespace, link: link, address: address, mac: mac)
        }
        let node1 = try #require(topology.node(named: "node-1")), node2 = try #require(topology.node(named: "node-2"))
        let node3 = try #require(topology.node(named: "node-3")), node4 = try #require(topology.node(named: "node-4"))
        let laptop = try #require(topology.host(named: "laptop"))
        let a = try #require(topology.pod(named: "a")), b = try #require(topology.pod(named: "b"))
        let c = try #require(topology.pod(named: "c")), d = try #require(topology.pod(named: "d"))
        let rack1 = try #require(topology.network(named: "rack-1")), rack2 = try #require(topology.network(named: "rack-2"))
        let rack3 = try #require(topology.network(named: "rack-3"))

        // A pod: its gateway (cni0's MAC) and the other pods of its node (their eth0's MAC).
        #expect(of(a.netns) == [entry(a.netns, "eth0", node1.bridgeAddress, node1.bridgeMAC),
                        entry(a.netns, "eth0", b.ip, b.veth.peerMAC), entry(a.netns, "eth0", c.ip, c.veth.peerMAC)])
        #expect(of(d.netns) == [entry(d.netns, "eth0", node3.bridgeAddress, node3.bridgeMAC)])
        // A node: cni0 → its pods; eth0 → the gateway and the nodes and hosts of its network.
        #expect(of(node1.netns) == [
            entry(node1.netns, "cni0", a.ip, a.veth.peerMAC), entry(node1.netns, "cni0", b.ip, b.veth.peerMAC),
            entry(node1.netns, "cni0", c.ip, c.veth.peerMAC),
            entry(node1.netns, "eth0", rack1.gateway, rack1.bridgeMAC), entry(node1.netns, "eth0", node2.ip, node2.uplink.mac),
        ])
        #expect(of(node2.netns) == [
            entry(node2.netns, "eth0", rack1.gateway, rack1.bridgeMAC), entry(node2.netns, "eth0", node1.ip, node1.uplink.mac),
        ])
        #expect(of(node3.netns) == [
            entry(node3.netns, "cni0", d.ip, d.veth.peerMAC),
            entry(node3.netns, "eth0", rack2.gateway, rack2.bridgeMAC), entry(node3.netns, "eth0", laptop.ip, laptop.uplink.mac),
        ])
        // A host, like a node on its network.
        #expect(of(laptop.netns) == [
            entry(laptop.netns, "eth0", rack2.gateway, rack2.bridgeMAC), entry(laptop.netns, "eth0", node3.ip, node3.uplink.mac),
        ])
        // The fabric: each network's bridge → the machines on that network.
        #expect(of(topology.fabricNetns) == [
            entry(topology.fabricNetns, rack1.bridge, node1.ip, node1.uplink.mac),
            entry(topology.fabricNetns, rack1.bridge, node2.ip, node2.uplink.mac),
            entry(topology.fabricNetns, rack2.bridge, node3.ip, node3.uplink.mac),
            entry(topology.fabricNetns, rack2.bridge, laptop.ip, laptop.uplink.mac),
            entry(topology.fabricNetns, rack3.bridge, node4.ip, node4.uplink.mac),
        ])
    }

    // MARK: Planning

    func neighbourOperations(_ plan: Plan) -> [KernelOperation] {
        plan.operations.filter { if case .addNeighbor = $0 { return true } else { return false } }
    }

    @Test func staticModePlansOnePermanentEntryPerPeerAfterTheLinksExist() throws {
        let topology = try TopologyBuilder.build(Self.threeNetworks(.static))
        #expect(topology.neighbours == .static)
        let plan = Planner.plan(topology)
        let expected = NeighbourEntries.all(in: topology).map {
            KernelOperation.addNeighbor(netns: $0.netns, link: $0.link, address: $0.address, mac: $0.mac)
        }
        #expect(neighbourOperations(plan) == expected)
        // After every link and address they name.
        let lastLink = try #require(plan.operations.lastIndex { $0.createsLink || { if case .addAddress = $0 { true } else { false } }($0) })
        let firstEntry = try #require(plan.operations.firstIndex { if case .addNeighbor = $0 { true } else { false } })
        #expect(lastLink < firstEntry)
        // Each namespace's entries in one run, so an apply sends them together.
        var seen: [String] = []
        for case .addNeighbor(let namespace, _, _, _) in plan.operations where seen.last != namespace {
            #expect(!seen.contains(namespace), "\(namespace)'s entries are split")
            seen.append(namespace)
        }
    }

    @Test(arguments: [NeighbourMode.arp, .auto])
    func arpModeAndUndecidedAutoPlanNoPermanentEntry(_ mode: NeighbourMode) throws {
        let topology = try TopologyBuilder.build(Self.threeNetworks(mode))
        #expect(topology.neighbours == .arp)
        #expect(topology.neighbourSetting == mode)
        #expect(neighbourOperations(Planner.plan(topology)).isEmpty)
    }

    @Test func vxlanKeepsFlannelsEntriesAsTheyAreInEitherMode() throws {
        let arp = Planner.plan(try TopologyBuilder.build(Self.threeNetworks(.arp, network: .vxlan)))
        let statik = Planner.plan(try TopologyBuilder.build(Self.threeNetworks(.static, network: .vxlan)))
        let flannel = neighbourOperations(arp)
        #expect(flannel.count == 4 * 3)
        #expect(flannel.allSatisfy { if case .addNeighbor(_, "flannel.1", _, _) = $0 { true } else { false } })
        let staticFlannel = neighbourOperations(statik).filter { if case .addNeighbor(_, "flannel.1", _, _) = $0 { true } else { false } }
        #expect(staticFlannel == flannel)
        #expect(neighbourOperations(statik).count == flannel.count + 30)
    }

    @Test func theDryRunScriptWritesPermanentEntries() throws {
        let topology = try TopologyBuilder.build(Self.threeNetworks(.static))
        let script = ShellScript.render(Planner.plan(topology))
        let a = try #require(topology.pod(named: "a")), node1 = try #require(topology.node(named: "node-1"))
        #expect(script.contains("ip -n \(a.netns) neigh replace \(node1.bridgeAddress) lladdr \(node1.bridgeMAC) dev eth0 nud permanent\n"))
        #expect(script.components(separatedBy: "nud permanent").count - 1 == 30)
    }

    // MARK: Deciding

    let table = HostNeighbourTable(limit: 1024, inUse: 12)

    @Test func autoChoosesArpWhileTheWorstCaseFitsInHalfTheTable() {
        let fits = NeighbourDecision.decide(setting: .auto, need: 500, host: table)
        #expect(fits.mode == .arp && fits.reason == .fits)
        #expect(fits.explanation == "arp (the lab may need 500 entries; the host's table holds 1,024, 12 in use)")
        // 500 + 12 in use = 512, half of 1,024: the last that fits.
        let over = NeighbourDecision.decide(setting: .auto, need: 501, host: table)
        #expect(over.mode == .static && over.reason == .overflows)
        #expect(NeighbourDecision.decide(setting: .auto, need: 2340, host: table).explanation
            == "static (the lab may need 2,340 entries; the host's table holds 1,024, 12 in use)")
    }

    @Test func theEntriesTheHostHoldsAlreadyCount() {
        #expect(NeighbourDecision.decide(setting: .auto, need: 40, host: HostNeighbourTable(limit: 1024, inUse: 400)).mode == .arp)
        #expect(NeighbourDecision.decide(setting: .auto, need: 40, host: HostNeighbourTable(limit: 1024, inUse: 480)).mode == .static)
        #expect(NeighbourDecision.decide(setting: .auto, need: 40, host: HostNeighbourTable(limit: 65536, inUse: 480)).mode == .arp)
    }

    @Test func anUnreadableTableIsTakenAsTheKernelsDefault() {
        let decision = NeighbourDecision.decide(setting: .auto, need: 600, host: nil)
        #expect(decision.mode == .static)
        #expect(decision.explanation.contains("could not be read, so its default of 1,024 was assumed"))
        #expect(NeighbourDecision.decide(setting: .auto, need: 512, host: nil).mode == .arp)
    }

    @Test func theFileDecidesWhenItNamesAMode() {
        let statik = NeighbourDecision.decide(setting: .static, need: 18, host: table)
        #expect(statik.mode == .static && statik.reason == .file)
        #expect(statik.explanation == "static (cluster.neighbours; 18 permanent entries)")
        let arp = NeighbourDecision.decide(setting: .arp, need: 101_110, host: table)
        #expect(arp.mode == .arp)
        #expect(arp.explanation == "arp (cluster.neighbours; the lab may need 101,110 entries; the host's table holds 1,024, 12 in use: "
            + "probes may fail when the table is full; static avoids it)")
        #expect(NeighbourDecision.decide(setting: .arp, need: 40, host: table).explanation
            == "arp (cluster.neighbours; the lab may need 40 entries; the host's table holds 1,024, 12 in use)")
    }

    @Test func anUnchangedLabSaysItsModeWithoutTheHostsTable() throws {
        var topology = try TopologyBuilder.build(Self.generated(nodes: 2, pods: 4))
        topology.neighbours = .static
        let unchanged = NeighbourDecision.unchanged(topology)
        #expect(unchanged.mode == .static && unchanged.reason == .unchanged && unchanged.host == nil)
        #expect(unchanged.explanation == "static (as the lab was built; it may need 18 entries)")
    }

    @Test func aLabThatIsUpKeepsItsModeUnlessItNowNeedsMoreThanFits() {
        // Static stays static, even when the lab shrank.
        let kept = NeighbourDecision.decide(setting: .auto, need: 10, host: table, running: (.static, 5000))
        #expect(kept.mode == .static && kept.reason == .kept)
        #expect(kept.explanation.hasPrefix("static (auto, kept from when the lab was built; "))
        // Arp stays arp while the lab needs no more than it did, however full the table is now
        // (its own entries are among those in use).
        let busy = HostNeighbourTable(limit: 1024, inUse: 1000)
        #expect(NeighbourDecision.decide(setting: .auto, need: 40, host: busy, running: (.arp, 40)).mode == .arp)
        // A lab that grew is decided again.
        #expect(NeighbourDecision.decide(setting: .auto, need: 41, host: busy, running: (.arp, 40)).mode == .static)
        #expect(NeighbourDecision.decide(setting: .auto, need: 41, host: table, running: (.arp, 40)).reason == .fits)
        // The file's word wins over what the lab was built with.
        #expect(NeighbourDecision.decide(setting: .arp, need: 41, host: table, running: (.static, 40)).mode == .arp)
    }

    @Test func numbersAreGroupedByThousands() {
        #expect(NumberText.grouped(0) == "0")
        #expect(NumberText.grouped(999) == "999")
        #expect(NumberText.grouped(1024) == "1,024")
        #expect(NumberText.grouped(101_110) == "101,110")
        #expect(NumberText.grouped(1_000_000) == "1,000,000")
    }

    // MARK: Changing a static lab

    /// The permanent entries the kernel would hold after applying `plan` to a lab built by
    /// `old`'s full plan: links and namespaces take their entries with them, as in the kernel
    /// (a veth's two ends go together; a VXLAN device goes with its lower device), and so does
    /// the deletion of a link's address (every lab link has one).
    func entriesAfter(_ plan: Plan, from old: Topology, to new: Topology) throws -> [NeighbourKey: MACAddress] {
        var table: [NeighbourKey: MACAddress] = [:]
        for case .addNeighbor(let namespace, let link, let address, let mac) in Planner.plan(old).operations {
            table[NeighbourKey(netns: namespace, link: link, address: address)] = mac
        }
        var peers: [LinkKey: LinkKey] = [:]
        for topology in [old, new] {
            let pairs = topology.pods.map(\.veth) + topology.nodes.map(\.uplink) + topology.hosts.map(\.uplink)
            for pair in pairs {
                let end = LinkKey(netns: pair.netns, name: pair.name), peer = LinkKey(netns: pair.peerNetns, name: pair.peerName)
                peers[end] = peer
                peers[peer] = end
            }
        }
        func dropLink(_ link: LinkKey) {
            table = table.filter { !($0.key.netns == link.netns && $0.key.link == link.name) }
            if link.name == Naming.uplink { dropLinkOnly(LinkKey(netns: link.netns, name: Naming.vxlanDevice)) }
        }
        func dropLinkOnly(_ link: LinkKey) { table = table.filter { !($0.key.netns == link.netns && $0.key.link == link.name) } }
        for operation in plan.operations {
            switch operation {
            case .deleteNetns(let namespace):
                for (end, peer) in peers where peer.netns == namespace { dropLink(end) }
                table = table.filter { $0.key.netns != namespace }
            case .deleteLink(let namespace, let name):
                let link = LinkKey(netns: namespace, name: name)
                dropLink(link)
                if let peer = peers[link] { dropLink(peer) }
            case .deleteAddress(let namespace, let link, _, _):
                // Its last address: the kernel flushes the link's entries, permanent ones too.
                dropLinkOnly(LinkKey(netns: namespace, name: link))
            case .addNeighbor(let namespace, let link, let address, let mac):
                table[NeighbourKey(netns: namespace, link: link, address: address)] = mac
            case .deleteNeighbor(let namespace, let link, let address):
                let key = NeighbourKey(netns: namespace, link: link, address: address)
                // The kernel answers ENOENT, and the change fails.
                try #require(table[key] != nil, "deletes \(address) on \(link) in \(namespace), which is not there")
                table[key] = nil
            case .forgetNeighbor(let namespace, let link, let address):
                table[NeighbourKey(netns: namespace, link: link, address: address)] = nil
            default:
                continue
            }
        }
        return table
    }

    func expectedEntries(_ topology: Topology) -> [NeighbourKey: MACAddress] {
        var table: [NeighbourKey: MACAddress] = [:]
        for case .addNeighbor(let namespace, let link, let address, let mac) in Planner.plan(topology).operations {
            table[NeighbourKey(netns: namespace, link: link, address: address)] = mac
        }
        return table
    }

    /// Applies `edit` to a static lab (three networks, or vxlan) and checks that the change
    /// leaves exactly the entries a fresh build of the new file has; returns the change.
    @discardableResult
    func change(network: NetworkMode = .routed, _ edit: (inout LabFile) -> Void) throws -> (old: Topology, new: Topology, plan: Plan) {
        var file = Self.threeNetworks(.static, network: network)
        let old = try TopologyBuilder.build(file)
        edit(&file)
        let new = try TopologyBuilder.build(file, previous: old)
        let plan = Reconciler.plan(from: old, to: new)
        let after = try entriesAfter(plan, from: old, to: new)
        let expected = expectedEntries(new)
        for (key, mac) in after where expected[key] != mac {
            Issue.record("stale: \(key.address) on \(key.link) in \(key.netns) → \(mac) (should be \(expected[key].map(String.init(describing:)) ?? "absent"))")
        }
        for (key, mac) in expected where after[key] == nil {
            Issue.record("missing: \(key.address) → \(mac) on \(key.link) in \(key.netns)")
        }
        return (old, new, plan)
    }

    func written(_ plan: Plan) -> [KernelOperation] { neighbourOperations(plan) }

    @Test(arguments: [NetworkMode.routed, .vxlan])
    func anAddedPodWritesItsEntriesAndTheOnesAboutItAndNothingElse(_ network: NetworkMode) throws {
        let (_, new, plan) = try change(network: network) { $0.pods.append(PodSpec(name: "f", node: "node-1")) }
        let f = try #require(new.pod(named: "f"))
        // f → gateway, a, b, c; cni0 → f; a, b, c → f.
        #expect(written(plan).count == 4 + 1 + 3)
        #expect(written(plan).filter { $0.netns == f.netns }.count == 4)
        #expect(!plan.operations.contains { if case .deleteNeighbor = $0 { true } else { false } })
        // The other pods of node-1 get their new entry and nothing else: their settings,
        // addresses and routes are not applied again.
        for name in ["a", "b", "c"] {
            let pod = try #require(new.pod(named: name))
            #expect(plan.operations.filter { $0.owners.contains(pod.netns) }
                == [.addNeighbor(netns: pod.netns, link: "eth0", address: f.ip, mac: f.veth.peerMAC)])
        }
    }

    @Test(arguments: [NetworkMode.routed, .vxlan])
    func aRemovedPodIsDeletedFromItsNeighboursEntries(_ network: NetworkMode) throws {
        let (old, _, plan) = try change(network: network) { $0.pods.removeAll { $0.name == "b" } }
        let b = try #require(old.pod(named: "b"))
        let deletions = plan.operations.filter { if case .deleteNeighbor(_, _, b.ip) = $0 { true } else { false } }
        #expect(deletions.count == 3, "cni0 of node-1, a and c")
        #expect(written(plan).isEmpty)
    }

    @Test(arguments: [NetworkMode.routed, .vxlan])
    func aPodThatMovesLeavesNoEntryOnItsOldNode(_ network: NetworkMode) throws {
        let (old, new, plan) = try change(network: network) { file in
            file.pods[file.pods.firstIndex { $0.name == "c" }!].node = "node-3"
        }
        let before = try #require(old.pod(named: "c")), after = try #require(new.pod(named: "c"))
        #expect(before.ip != after.ip)
        let node1 = try #require(old.node(named: "node-1"))
        for namespace in [node1.netns, old.pod(named: "a")!.netns, old.pod(named: "b")!.netns] {
            #expect(plan.operations.contains { if case .deleteNeighbor(namespace, _, before.ip) = $0 { true } else { false } })
        }
        // c's own entries are new (its eth0 is a new veth): the gateway and d on node-3.
        #expect(written(plan).filter { $0.netns == after.netns }.count == 2)
    }

    @Test func swappedAddressesAreReplacedInPlaceAndNotForgottenAfterwards() throws {
        let (old, _, plan) = try change { file in
            let a = file.pods.firstIndex { $0.name == "a" }!, c = file.pods.firstIndex { $0.name == "c" }!
            file.pods[a].ip = IPv4Address("10.244.2.30")!
            file.pods[c].ip = IPv4Address("10.244.2.31")!
            file.pods.append(PodSpec(name: "g", node: "node-1", ip: IPv4Address("10.244.2.3")!))
        }
        // g has a's old address: b's entry for it is replaced with g's MAC, never deleted.
        let a = try #require(old.pod(named: "a")), b = try #require(old.pod(named: "b"))
        #expect(a.ip == IPv4Address("10.244.2.3"))
        #expect(!plan.operations.contains(.deleteNeighbor(netns: b.netns, link: "eth0", address: a.ip)))
        #expect(!plan.operations.contains(.forgetNeighbor(netns: b.netns, link: "eth0", address: a.ip)))
    }

    @Test(arguments: [NetworkMode.routed, .vxlan])
    func changedNodesAndHostsAreUpdatedOnTheirNetworks(_ network: NetworkMode) throws {
        try change(network: network) { file in file.nodes[file.nodes.firstIndex { $0.name == "node-2" }!].ip = IPv4Address("192.168.1.77")! }
        try change(network: network) { file in file.nodes[file.nodes.firstIndex { $0.name == "node-2" }!].network = "rack-2" }
        try change(network: network) { file in file.nodes.append(NodeSpec(name: "node-5", network: "rack-3")) }
        try change(network: network) { file in file.hosts.append(HostSpec(name: "desk", network: "rack-1")) }
        try change(network: network) { file in file.hosts[0].ip = IPv4Address("172.16.9.9")! }
        try change(network: network) { file in file.hosts.removeAll() }
        try change(network: network) { file in file.nodes.removeAll { $0.name == "node-4" }; file.pods.removeAll { $0.name == "e" } }
        try change(network: network) { file in
            file.networks[2].cidr = IPv4Network("10.11.0.0/24")!
            file.nodes[3].ip = nil
        }
    }

    @Test func switchingModesWritesOrDeletesEveryEntry() throws {
        let arp = try TopologyBuilder.build(Self.threeNetworks(.arp))
        var file = Self.threeNetworks(.static)
        let statik = try TopologyBuilder.build(file, previous: arp)
        #expect(written(Reconciler.plan(from: arp, to: statik)).count == 30)
        file.cluster.neighbours = .arp
        let back = Reconciler.plan(from: statik, to: try TopologyBuilder.build(file, previous: statik))
        #expect(back.operations.filter { if case .deleteNeighbor = $0 { true } else { false } }.count == 30)
    }

    @Test func anUnchangedStaticLabNeedsNothing() throws {
        let topology = try TopologyBuilder.build(Self.threeNetworks(.static))
        #expect(Reconciler.plan(from: topology, to: try TopologyBuilder.build(Self.threeNetworks(.static), previous: topology)).operations.isEmpty)
    }
}
