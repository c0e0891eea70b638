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
        case .createNamespace: return "namespaces"
        case .deleteNamespace: return "removed namespaces"
        case .setSysctl: return "sysctls"
        default: return operation.namespace
        }
    }

    /// `replacing`: the `replace` form of commands that fail on an existing object, for
    /// incremental plans.
    public static func command(_ operation: KernelOperation, replacing: Bool = false) -> String {
        let add = replacing ? "replace" : "add"
        switch operation {
        case .createNamespace(let namespace):
            return "ip netns add \(namespace)"
        case .setSysctl(let namespace, let key, let value):
            return "ip netns exec \(namespace) sysctl -qw \(key)=\(value)"
        case .addBridge(let namespace, let name, let mac, let mtu):
            return "ip -n \(namespace) link add \(name) address \(mac) mtu \(mtu) up type bridge"
        case .addVeth(let pair, let master):
            return "ip -n \(pair.namespace) link add \(pair.name) address \(pair.mac) mtu \(pair.mtu)"
                + (master.map { " master \($0)" } ?? "") + " up type veth"
                + " peer name \(pair.peerName) address \(pair.peerMAC) mtu \(pair.mtu) netns \(pair.peerNamespace)"
        case .setMaster(let namespace, let link, let master):
            return "ip -n \(namespace) link set \(link) master \(master)"
        case .setHairpin(let namespace, let link):
            return "ip -n \(namespace) link set \(link) type bridge_slave hairpin on"
        case .addAddress(let namespace, let link, let address, let prefixLength):
            // `brd +`: the broadcast address lab up sets too (none for /31 and /32).
            return "ip -n \(namespace) addr \(add) \(address)/\(prefixLength)\(prefixLength < 31 ? " brd +" : "") dev \(link)"
        case .setUp(let namespace, let link):
            return "ip -n \(namespace) link set \(link) up"
        case .addRoute(let namespace, let destination, let gateway, let device, let onlink):
            var text = "ip -n \(namespace) route \(add) \(destination.prefixLength == 0 ? "default" : destination.description)"
            if let gateway { text += " via \(gateway)" }
            if let device { text += " dev \(device)" }
            if onlink { text += " onlink" }
            return text
        case .addVxlan(let namespace, let name, let vni, let port, let local, let device, let mac, let mtu):
            return "ip -n \(namespace) link add \(name) address \(mac) mtu \(mtu) up type vxlan id \(vni) local \(local) dev \(device) dstport \(port) nolearning"
        case .addNeighbor(let namespace, let link, let address, let mac):
            return "ip -n \(namespace) neigh replace \(address) lladdr \(mac) dev \(link) nud permanent"
        case .addForwardingEntry(let namespace, let link, let mac, let destination):
            return "bridge -n \(namespace) fdb \(replacing ? "replace" : "append") \(mac) dev \(link) dst \(destination) self permanent"
        case .loadFirewall(let namespace, let loader, let rules):
            // A quoted heredoc: the rules reach the loader byte for byte.
            let body = rules.hasSuffix("\n") ? rules : rules + "\n"
            return "ip netns exec \(namespace) \(loader.arguments(file: "/dev/stdin").joined(separator: " ")) <<'RULES'\n\(body)RULES"
        case .deleteNamespace(let namespace):
            return "ip netns del \(namespace)"
        case .deleteLink(let namespace, let name):
            return "ip -n \(namespace) link del \(name)"
        case .clearMaster(let namespace, let link):
            return "ip -n \(namespace) link set \(link) nomaster"
        case .deleteAddress(let namespace, let link, let address, let prefixLength):
            return "ip -n \(namespace) addr del \(address)/\(prefixLength) dev \(link)"
        case .deleteRoute(let namespace, let destination, let gateway, let device):
            var text = "ip -n \(namespace) route del \(destination.prefixLength == 0 ? "default" : destination.description)"
            if let gateway { text += " via \(gateway)" }
            if let device { text += " dev \(device)" }
            return text
        case .deleteNeighbor(let namespace, let link, let address):
            return "ip -n \(namespace) neigh del \(address) dev \(link)"
        case .deleteForwardingEntry(let namespace, let link, let mac, let destination):
            return "bridge -n \(namespace) fdb del \(mac) dev \(link) dst \(destination) self"
        case .forgetNeighbor(let namespace, let link, let address):
            return "ip -n \(namespace) neigh flush to \(address) dev \(link)"
        case .replaceQdisc(let namespace, let link, let qdisc):
            return "tc -n \(namespace) qdisc replace dev \(link) root \(qdisc.tcArguments)"
        case .deleteQdisc(let namespace, let link):
            // Nothing to delete (ENOENT) is fine: the link had only its default qdisc.
            return "tc -n \(namespace) qdisc del dev \(link) root 2>/dev/null || true"
        case .flushConntrack(let namespace, let filter):
            // conntrack exits 1 when nothing matched, which is fine here (127, not found, is not).
            return "ip netns exec \(namespace) conntrack -D \(filter.arguments.joined(separator: " ")) || [ $? -eq 1 ]"
        }
    }
}
