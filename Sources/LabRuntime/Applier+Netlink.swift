import Glibc
import LabKernel
import LabPlan

extension Applier {
    /// The netlink change of a plan operation, and the errno that counts as done for it (an
    /// address, route or FDB entry already there in a reconcile; nothing to forget for
    /// `forgetNeighbor`). nil for what is not netlink: namespaces, sysctls, firewall loads,
    /// conntrack flushes.
    ///
    /// The one place a `KernelOperation` becomes netlink: the batched and the one-by-one apply
    /// both send what this returns through `submit`.
    func netlinkChange(for operation: KernelOperation) throws -> (change: RouteChange, tolerated: Int32?)? {
        let existing: Int32? = toleratesExisting ? EEXIST : nil
        switch operation {
        case .addBridge(_, let name, let mac, let mtu):
            return (.addBridge(name: name, mtu: mtu, mac: mac, up: true), nil)
        case .addVeth(let pair, let master):
            return (.addVeth(name: pair.name, mac: pair.mac, mtu: pair.mtu, peerName: pair.peerName, peerMAC: pair.peerMAC,
                             peerNetns: try namespaceHandle(pair.peerNetns), master: master, up: true), nil)
        case .addVxlan(_, let name, let vni, let port, let local, let device, let mac, let mtu):
            return (.addVxlan(name: name, vni: vni, port: port, local: local, device: device, learning: false, mtu: mtu, mac: mac,
                              up: true), nil)
        case .setMaster(_, let link, let master):
            return (.setMaster(link: link, master: master), nil)
        case .setHairpin(_, let link):
            return (.setHairpin(link: link, on: true), nil)
        case .setAddrGenModeNone(_, let link):
            return (.setAddrGenModeNone(link: link), nil)
        case .setUp(_, let link):
            return (.setUp(link: link), nil)
        case .setDown(_, let link):
            return (.setDown(link: link), nil)
        case .addAddress(_, let link, let address, let prefixLength):
            return (.addAddress(link: link, address: address, prefixLength: prefixLength), existing)
        case .addRoute(_, let destination, let gateway, let device, let onlink):
            return (.addRoute(destination: destination, gateway: gateway, device: device, onlink: onlink), existing)
        case .addNeighbor(_, let link, let address, let mac):
            return (.addNeighbor(link: link, address: address, mac: mac, permanent: true), nil)
        case .addForwardingEntry(_, let link, let mac, let destination):
            return (.addFDB(link: link, mac: mac, destination: destination), existing)
        case .deleteLink(_, let name):
            return (.deleteLink(name), nil)
        case .clearMaster(_, let link):
            return (.clearMaster(link: link), nil)
        case .deleteAddress(_, let link, let address, let prefixLength):
            return (.deleteAddress(link: link, address: address, prefixLength: prefixLength), nil)
        case .deleteRoute(_, let destination, let gateway, let device):
            return (.deleteRoute(destination: destination, gateway: gateway, device: device), nil)
        case .deleteNeighbor(_, let link, let address):
            return (.deleteNeighbor(link: link, address: address), nil)
        case .deleteForwardingEntry(_, let link, let mac, let destination):
            return (.deleteFDB(link: link, mac: mac, destination: destination), nil)
        case .forgetNeighbor(_, let link, let address):
            return (.deleteNeighbor(link: link, address: address), ENOENT)
        case .replaceQdisc(let namespace, let link, let qdisc):
            return (try qdiscChange(link: link, qdisc, in: namespace), ENOENT)
        case .deleteQdisc(_, let link):
            return (.deleteRootQdisc(link: link), ENOENT)
        case .createNetns, .setSysctl, .loadFirewall, .deleteNetns, .flushConntrack:
            return nil
        }
    }

    /// The root qdisc change of an impaired link's end: netem where the kernel has it (asked the
    /// first time a lab needs it); else netem's rate as a token bucket, or, with no rate,
    /// nothing but taking off a qdisc an earlier apply left (ENOENT when there is none, which
    /// is why the caller tolerates it; the replacements never answer ENOENT).
    private func qdiscChange(link: String, _ qdisc: LinkQdisc, in namespace: String) throws -> RouteChange {
        switch qdisc {
        case .tokenBucket(let bucket):
            return .replaceTokenBucket(link: link, rateBytesPerSecond: bucket.rateBytesPerSecond, burstBytes: bucket.burstBytes,
                                       limitBytes: bucket.limitBytes)
        case .netem(let netem):
            if try NetemSupport.available(probingWith: socket(namespace)) {
                return .replaceNetem(link: link, limit: netem.limit, delayMicroseconds: netem.delayMicroseconds,
                                     jitterMicroseconds: netem.jitterMicroseconds, rateBytesPerSecond: netem.rateBytesPerSecond)
            }
            if let bucket = netem.fallback { return try qdiscChange(link: link, .tokenBucket(bucket), in: namespace) }
            return .deleteRootQdisc(link: link)
        }
    }

    /// Sends `changes` to `namespace`'s socket: the one way an apply's netlink work, and the
    /// fault a test injects, reach the kernel. `links` keeps indexes across calls (a batched
    /// apply, which only creates); without it each index is looked up afresh. A failure with
    /// the `tolerated` errno counts as done.
    func submit(_ changes: [RouteChange], in namespace: String, links: LinkIndexCache? = nil, tolerated: Int32? = nil) throws {
        do {
            try socket(namespace).submit(changes, links: links)
        } catch let error as KernelError where tolerated != nil && error.errno == tolerated {
            return
        }
    }
}
