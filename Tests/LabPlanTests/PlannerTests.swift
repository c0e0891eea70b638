import LabAddress
import LabSpec
import Testing
@testable import LabPlan

@Suite struct PlannerTests {
    let topology = try! TopologyBuilder.build(Fixtures.threeNetworks())
    var plan: Plan { Planner.plan(topology) }

    @Test func everyNamespaceIsCreatedBeforeAnythingUsesIt() {
        var created = Set<String>()
        for operation in plan.operations {
            if case .createNetns(let name) = operation {
                #expect(created.insert(name).inserted, "\(name) created twice")
                continue
            }
            #expect(created.contains(operation.netns), "\(operation) before its namespace")
            if case .addVeth(let pair, _) = operation { #expect(created.contains(pair.peerNetns)) }
        }
        #expect(created == Set(topology.allNetns))
        #expect(created.count == 1 + 4 + 1 + 5 + 1, "fabric, nodes, host, pods and the DNS pod")
    }

    @Test func linksExistBeforeTheyAreConfiguredAndRoutesComeLast() {
        // Per namespace: which links exist so far, and whether each has an address and is up.
        var links: [String: Set<String>] = [:]
        var ready: [String: Set<String>] = [:]
        for operation in plan.operations {
            switch operation {
            case .createNetns(let namespace): links[namespace] = ["lo"]
            case .addBridge(let namespace, let name, _, _):
                // Created up.
                links[namespace, default: []].insert(name)
                ready[namespace, default: []].insert(name)
            case .addVeth(let pair, let master):
                if let master { #expect(links[pair.netns]?.contains(master) == true, "\(pair.name) before its master") }
                links[pair.netns, default: []].insert(pair.name)
                ready[pair.netns, default: []].insert(pair.name)
                links[pair.peerNetns, default: []].insert(pair.peerName)
            case .setMaster(let namespace, let link, let master):
                #expect(links[namespace]?.contains(link) == true)
                #expect(links[namespace]?.contains(master) == true)
            case .setAddrGenModeNone(let namespace, let link):
                #expect(links[namespace]?.contains(link) == true, "\(link) in \(namespace)")
                #expect(ready[namespace]?.contains(link) != true, "\(link) in \(namespace) is up before its addrgenmode")
            case .setHairpin(let namespace, let link), .setUp(let namespace, let link):
                #expect(links[namespace]?.contains(link) == true, "\(link) in \(namespace)")
                if case .setUp = operation { ready[namespace, default: []].insert(link) }
            case .addAddress(let namespace, let link, _, _):
                #expect(links[namespace]?.contains(link) == true)
            case .addRoute(let namespace, _, _, let device, _):
                if let device { #expect(ready[namespace]?.contains(device) == true, "route via \(device) before it is up in \(namespace)") }
            case .addVxlan(let namespace, let name, _, _, _, let device, _, _):
                #expect(ready[namespace]?.contains(device) == true, "vxlan over \(device) before it is up")
                links[namespace, default: []].insert(name)
                ready[namespace, default: []].insert(name)
            case .addNeighbor(let namespace, let link, _, _), .addForwardingEntry(let namespace, let link, _, _):
                #expect(links[namespace]?.contains(link) == true)
            case .loadFirewall(let namespace, _, _):
                #expect(links[namespace] != nil)
            case .replaceQdisc(let namespace, let link, _):
                #expect(links[namespace]?.contains(link) == true, "qdisc on \(link) before it exists in \(namespace)")
            case .setSysctl: break
            case .deleteNetns, .deleteLink, .clearMaster, .deleteAddress, .deleteRoute, .deleteNeighbor,
                 .deleteForwardingEntry, .flushConntrack, .forgetNeighbor, .deleteQdisc, .setDown:
                Issue.record("a build plan takes nothing away: \(operation)")
            }
        }
    }

    @Test func podsAreWiredAsTheCNIBridgePluginWiresThem() {
        let pod = topology.pod(named: "a")!
        let ops = plan.operations
        // Created as a port of cni0, by the request that creates it.
        #expect(ops.contains(.addVeth(pod.veth, master: "cni0")))
        #expect(!ops.contains(.setMaster(netns: "lab.t3.node.node-1", link: pod.veth.name, master: "cni0")))
        #expect(ops.contains(.setHairpin(netns: "lab.t3.node.node-1", link: pod.veth.name)))
        #expect(ops.contains(.addAddress(netns: "lab.t3.pod.a", link: "eth0", address: IPv4Address("10.244.2.3")!, prefixLength: 24)))
        #expect(ops.contains(.addRoute(netns: "lab.t3.pod.a", destination: IPv4Network("0.0.0.0/0")!,
                                       gateway: IPv4Address("10.244.2.1")!, device: "eth0", onlink: false)))
    }

    @Test func routedModeRoutesEveryPodCIDRTheRightWay() {
        var routes: [String: [IPv4Network: IPv4Address?]] = [:]
        for case .addRoute(let namespace, let destination, let gateway, _, _) in plan.operations {
            routes[namespace, default: [:]][destination] = gateway
        }
        let node1 = topology.node(named: "node-1")!, node2 = topology.node(named: "node-2")!
        let node3 = topology.node(named: "node-3")!
        // Same network: straight to the other node. Other network: through the gateway.
        #expect(routes[node1.netns]?[node2.podCIDR] == node2.ip)
        #expect(routes[node1.netns]?[node3.podCIDR] == node1.gateway)
        #expect(routes[node1.netns]?[node1.podCIDR] == nil)
        #expect(routes[node3.netns]?[IPv4Network("0.0.0.0/0")!] == node3.gateway)
        for node in topology.nodes {
            #expect(routes[node.netns]?.count == topology.nodes.count) // default + the other three
            #expect(routes[topology.fabricNetns]?[node.podCIDR] == node.ip)
        }
    }

    @Test func vxlanModeBuildsFlannelsLayoutAndNoPodRoutesOnTheUnderlay() {
        var file = Fixtures.threeNetworks()
        file.cluster.network = .vxlan
        let topology = try! TopologyBuilder.build(file)
        let ops = Planner.plan(topology).operations
        let node1 = topology.node(named: "node-1")!, node3 = topology.node(named: "node-3")!
        #expect(ops.contains(.addVxlan(netns: node1.netns, name: "flannel.1", vni: 1, port: 8472, local: node1.ip,
                                       device: "eth0", mac: node1.vtepMAC, mtu: 1450)))
        #expect(ops.contains(.addAddress(netns: node1.netns, link: "flannel.1", address: node1.podCIDR.address, prefixLength: 32)))
        // Per remote node: one neighbour, one FDB entry, one onlink route — even across networks.
        #expect(ops.contains(.addNeighbor(netns: node1.netns, link: "flannel.1", address: node3.podCIDR.address, mac: node3.vtepMAC)))
        #expect(ops.contains(.addForwardingEntry(netns: node1.netns, link: "flannel.1", mac: node3.vtepMAC, destination: node3.ip)))
        #expect(ops.contains(.addRoute(netns: node1.netns, destination: node3.podCIDR, gateway: node3.podCIDR.address,
                                       device: "flannel.1", onlink: true)))
        for node in topology.nodes {
            let entries = ops.filter {
                if case .addNeighbor(node.netns, _, _, _) = $0 { return true }
                if case .addForwardingEntry(node.netns, _, _, _) = $0 { return true }
                return false
            }
            #expect(entries.count == 2 * (topology.nodes.count - 1))
        }
        let underlayPodRoutes = ops.filter {
            if case .addRoute(let namespace, let destination, _, _, _) = $0 {
                return namespace == topology.fabricNetns && topology.podCIDR.contains(destination)
            }
            return false
        }
        #expect(underlayPodRoutes.isEmpty)
        #expect(topology.pods.allSatisfy { $0.veth.mtu == 1450 })
        #expect(ShellScript.command(ops.first { if case .addVxlan = $0 { return true }; return false }!)
            == "ip -n lab.t3.node.node-1 link add flannel.1 address \(node1.vtepMAC) mtu 1450 up type vxlan id 1 local \(node1.ip) dev eth0 dstport 8472 nolearning")
        #expect(ShellScript.command(.addForwardingEntry(netns: "n", link: "flannel.1", mac: node3.vtepMAC, destination: node3.ip))
            == "bridge -n n fdb append \(node3.vtepMAC) dev flannel.1 dst \(node3.ip) self permanent")
    }

    @Test func sysctlsAreExplicitEverywhere() {
        var sysctls: [String: [String: String]] = [:]
        for case .setSysctl(let namespace, let key, let value) in plan.operations {
            sysctls[namespace, default: [:]][key] = value
        }
        #expect(sysctls["lab.t3.fabric"]?["net.ipv4.ip_forward"] == "1")
        #expect(sysctls["lab.t3.fabric"]?["net.bridge.bridge-nf-call-iptables"] == "0")
        #expect(sysctls["lab.t3.node.node-1"]?["net.ipv4.ip_forward"] == "1")
        #expect(sysctls["lab.t3.node.node-1"]?["net.bridge.bridge-nf-call-iptables"] == "1")
        #expect(sysctls["lab.t3.pod.a"]?["net.ipv4.ip_forward"] == "0")
        for namespace in topology.allNetns {
            #expect(sysctls[namespace]?["net.ipv4.conf.all.rp_filter"] == "0", "\(namespace)")
        }
        // No link gets an IPv6 link-local address: a namespace whose links are created up has
        // the default set before it has any; a pod's eth0 (a veth peer, created down) gets the
        // mode itself before it comes up.
        let pods = Set(topology.pods.map(\.netns))
        for namespace in topology.allNetns where !pods.contains(namespace) {
            #expect(sysctls[namespace]?["net.ipv6.conf.default.addr_gen_mode"] == "1", "\(namespace)")
        }
        for pod in pods {
            #expect(sysctls[pod]?["net.ipv6.conf.default.addr_gen_mode"] == nil, "\(pod)")
            let mode = plan.operations.firstIndex(of: .setAddrGenModeNone(netns: pod, link: "eth0"))
            let up = plan.operations.firstIndex(of: .setUp(netns: pod, link: "eth0"))
            #expect(mode != nil && up != nil && mode! < up!, "\(pod)")
        }
    }

    @Test func shellCommandsReadLikeWhatAPersonTypes() {
        let pair = topology.pod(named: "a")!.veth
        #expect(ShellScript.command(.createNetns("lab.t3.pod.a")) == "ip netns add lab.t3.pod.a")
        #expect(ShellScript.command(.addVeth(pair)) ==
            "ip -n lab.t3.node.node-1 link add \(pair.name) address \(pair.mac) mtu 1500 up type veth peer name eth0 address \(pair.peerMAC) mtu 1500 netns lab.t3.pod.a")
        #expect(ShellScript.command(.addVeth(pair, master: "cni0")) ==
            "ip -n lab.t3.node.node-1 link add \(pair.name) address \(pair.mac) mtu 1500 master cni0 up type veth peer name eth0 address \(pair.peerMAC) mtu 1500 netns lab.t3.pod.a")
        #expect(ShellScript.command(.setSysctl(netns: "x", key: "net.ipv4.ip_forward", value: "1"))
            == "ip netns exec x sysctl -qw net.ipv4.ip_forward=1")
        #expect(ShellScript.command(.addRoute(netns: "x", destination: IPv4Network("0.0.0.0/0")!,
                                              gateway: IPv4Address("10.0.0.1"), device: "eth0", onlink: false))
            == "ip -n x route add default via 10.0.0.1 dev eth0")
        #expect(ShellScript.command(.addRoute(netns: "x", destination: IPv4Network("10.244.2.0/24")!,
                                              gateway: IPv4Address("10.244.2.0"), device: "vxlan0", onlink: true))
            == "ip -n x route add 10.244.2.0/24 via 10.244.2.0 dev vxlan0 onlink")
        #expect(ShellScript.command(.setHairpin(netns: "x", link: "veth1")) == "ip -n x link set veth1 type bridge_slave hairpin on")
        #expect(ShellScript.command(.setAddrGenModeNone(netns: "x", link: "eth0")) == "ip -n x link set eth0 addrgenmode none")
        let script = ShellScript.render(plan)
        #expect(script.hasPrefix("#!/usr/bin/env bash\n"))
        #expect(script.contains("set -euo pipefail"))
        #expect(script.split(separator: "\n").filter { $0.hasPrefix("ip ") }.count == plan.operations.count)
        // One loader run per node, each a quoted heredoc so the rules arrive byte for byte.
        #expect(plan.operations.filter { if case .loadFirewall = $0 { return true }; return false }.count == topology.nodes.count)
        #expect(script.contains("ip netns exec lab.t3.node.node-1 iptables-restore -w 5 --noflush /dev/stdin <<'RULES'\n*filter\n"))
    }
}
