import LabSpec

/// Renders a plan as the bash script a person would type: one `ip`/`sysctl` command per
/// operation. Run as root on a clean host it builds what `lab up` builds (the tests check it);
/// it is also the "one command per operation" baseline of `scripts/bench`.
public enum ShellScript {
    /// A build plan as the script that builds the lab; a reconcile plan (`Plan.incremental`,
    /// `lab up --dry-run` on a lab that is up) as the script that changes it: removals first,
    /// then what is added or set again (with `replace`, since some of it may still be there).
    /// `notes` are written as comments under the header (why the plan is what it is).
    public static func render(_ plan: Plan, topology: Topology? = nil, notes: [String] = []) -> String {
        var lines = ["#!/usr/bin/env bash"]
        if plan.incremental {
            lines += [
                "# lab \(plan.lab): what `lab up` changes in the running lab, one command each.",
                "set -euo pipefail",
            ]
            if plan.operations.isEmpty { lines.append("# nothing: the running lab already is what the file says") }
        } else {
            lines += [
                "# lab \(plan.lab): the kernel operations of `lab up`, one command each.",
                "# Undo with: for ns in $(ip netns list | awk '/^lab\\.\(plan.lab)\\./{print $1}'); do ip netns delete \"$ns\"; done",
                "set -euo pipefail",
                "# Nodes set br_netfilter's bridge-nf-call-iptables; lab up loads the module the same way.",
                "[ -e /proc/sys/net/bridge ] || modprobe br_netfilter",
            ]
        }
        lines += notes.map { "# \($0)" }
        var lastSection = ""
        for operation in plan.operations {
            let section = sectionTitle(operation)
            if section != lastSection {
                lines.append("")
                lines.append("# \(section)")
                lastSection = section
            }
            lines.append(command(operation, replacing: plan.incremental))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func sectionTitle(_ operation: KernelOperation) -> String {
        switch operation {
        case .createNetns: return "namespaces"
        case .deleteNetns: return "removed namespaces"
        case .setSysctl: return "sysctls"
        default: return operation.netns
        }
    }

    /// `replacing`: the `replace` form of commands that fail on an existing object, for
    /// incremental plans.
    public static func command(_ operation: KernelOperation, replacing: Bool = false) -> String {
        let add = replacing ? "replace" : "add"
        switch operation {
        case .createNetns(let netns):
            return "ip netns add \(netns)"
        case .setSysctl(let netns, let key, let value):
            return "ip netns exec \(netns) sysctl -qw \(key)=\(value)"
        case .addBridge(let netns, let name, let mac, let mtu):
            return "ip -n \(netns) link add \(name) address \(mac) mtu \(mtu) up type bridge"
        case .addVeth(let pair, let master):
            return "ip -n \(pair.netns) link add \(pair.name) address \(pair.mac) mtu \(pair.mtu)"
                + (master.map { " master \($0)" } ?? "") + " up type veth"
                + " peer name \(pair.peerName) address \(pair.peerMAC) mtu \(pair.mtu) netns \(pair.peerNetns)"
        case .setMaster(let netns, let link, let master):
            return "ip -n \(netns) link set \(link) master \(master)"
        case .setHairpin(let netns, let link):
            return "ip -n \(netns) link set \(link) type bridge_slave hairpin on"
        case .addAddress(let netns, let link, let address, let prefixLength):
            // `brd +`: the broadcast address lab up sets too (none for /31 and /32).
            return "ip -n \(netns) addr \(add) \(address)/\(prefixLength)\(prefixLength < 31 ? " brd +" : "") dev \(link)"
        case .setAddrGenModeNone(let netns, let link):
            return "ip -n \(netns) link set \(link) addrgenmode none"
        case .setUp(let netns, let link):
            return "ip -n \(netns) link set \(link) up"
        case .setDown(let netns, let link):
            return "ip -n \(netns) link set \(link) down"
        case .addRoute(let netns, let destination, let gateway, let device, let onlink):
            var text = "ip -n \(netns) route \(add) \(destination.prefixLength == 0 ? "default" : destination.description)"
            if let gateway { text += " via \(gateway)" }
            if let device { text += " dev \(device)" }
            if onlink { text += " onlink" }
            return text
        case .addVxlan(let netns, let name, let vni, let port, let local, let device, let mac, let mtu):
            return "ip -n \(netns) link add \(name) address \(mac) mtu \(mtu) up type vxlan id \(vni) local \(local) dev \(device) dstport \(port) nolearning"
        case .addNeighbor(let netns, let link, let address, let mac):
            return "ip -n \(netns) neigh replace \(address) lladdr \(mac) dev \(link) nud permanent"
        case .addForwardingEntry(let netns, let link, let mac, let destination):
            return "bridge -n \(netns) fdb \(replacing ? "replace" : "append") \(mac) dev \(link) dst \(destination) self permanent"
        case .loadFirewall(let netns, let loader, let rules):
            // A quoted heredoc: the rules reach the loader byte for byte.
            let body = rules.hasSuffix("\n") ? rules : rules + "\n"
            return "ip netns exec \(netns) \(loader.arguments(file: "/dev/stdin").joined(separator: " ")) <<'RULES'\n\(body)RULES"
        case .deleteNetns(let netns):
            return "ip netns del \(netns)"
        case .deleteLink(let netns, let name):
            return "ip -n \(netns) link del \(name)"
        case .clearMaster(let netns, let link):
            return "ip -n \(netns) link set \(link) nomaster"
        case .deleteAddress(let netns, let link, let address, let prefixLength):
            return "ip -n \(netns) addr del \(address)/\(prefixLength) dev \(link)"
        case .deleteRoute(let netns, let destination, let gateway, let device):
            var text = "ip -n \(netns) route del \(destination.prefixLength == 0 ? "default" : destination.description)"
            if let gateway { text += " via \(gateway)" }
            if let device { text += " dev \(device)" }
            return text
        case .deleteNeighbor(let netns, let link, let address):
            return "ip -n \(netns) neigh del \(address) dev \(link)"
        case .deleteForwardingEntry(let netns, let link, let mac, let destination):
            return "bridge -n \(netns) fdb del \(mac) dev \(link) dst \(destination) self"
        case .forgetNeighbor(let netns, let link, let address):
            return "ip -n \(netns) neigh flush to \(address) dev \(link)"
        case .replaceQdisc(let netns, let link, let qdisc):
            return "tc -n \(netns) qdisc replace dev \(link) root \(qdisc.tcArguments)"
        case .deleteQdisc(let netns, let link):
            // Nothing to delete (ENOENT) is fine: the link had only its default qdisc.
            return "tc -n \(netns) qdisc del dev \(link) root 2>/dev/null || true"
        case .flushConntrack(let netns, let filter):
            // conntrack exits 1 when nothing matched, which is fine here (127, not found, is not).
            return "ip netns exec \(netns) conntrack -D \(filter.arguments.joined(separator: " ")) || [ $? -eq 1 ]"
        }
    }
}
