import Foundation
import LabKernel
import LabPlan
import LabSpec

/// Executes a plan against the kernel: one netlink socket per namespace, opened once and kept
/// for the whole apply; sysctls written straight to /proc/sys from a thread inside the
/// namespace; no process spawned.
public final class Applier {
    private let journal: Journal
    private var namespaces: [String: NetworkNamespace] = [:]
    private var sockets: [String: RouteSocket] = [:]
    /// Namespaces this run created (recorded before creation), for rollback.
    public private(set) var created: [String] = []
    public private(set) var timings = PhaseTimings()

    /// Where loaded firewall rules are kept (the lab's state directory).
    private let rulesDirectory: String

    public init(journal: Journal, rulesDirectory: String) {
        self.journal = journal
        self.rulesDirectory = rulesDirectory
    }

    public func apply(_ plan: Plan) throws {
        var index = 0
        let operations = plan.operations
        while index < operations.count {
            try Interruption.check()
            let operation = operations[index]
            let started = DispatchTime.now()
            // Consecutive sysctls of one namespace go in one thread hop.
            if case .setSysctl(let namespace, _, _) = operation {
                var settings: [(key: String, value: String)] = []
                while index < operations.count, case .setSysctl(namespace, let key, let value) = operations[index] {
                    settings.append((key, value))
                    index += 1
                }
                try namespaceHandle(namespace).writeSysctls(settings)
                timings.add("sysctls", since: started, count: settings.count)
                continue
            }
            try perform(operation)
            timings.add(phase(of: operation), since: started, count: 1)
            index += 1
        }
    }

    func perform(_ operation: KernelOperation) throws {
        switch operation {
        case .createNamespace(let name):
            try journal.record(namespace: name)
            created.append(name)
            namespaces[name] = try NetworkNamespace.create(name)
        case .setSysctl(let namespace, let key, let value):
            try namespaceHandle(namespace).writeSysctls([(key, value)])
        case .addBridge(let namespace, let name, let mac, let mtu):
            try socket(namespace).addBridge(name: name, mtu: mtu, mac: mac.bytes)
        case .addVeth(let pair):
            try socket(pair.namespace).addVeth(name: pair.name, mac: pair.mac.bytes, mtu: pair.mtu, peerName: pair.peerName,
                                               peerMAC: pair.peerMAC.bytes, peerNamespace: namespaceHandle(pair.peerNamespace))
        case .setMaster(let namespace, let link, let master):
            try socket(namespace).setMaster(link: link, master: master)
        case .setHairpin(let namespace, let link):
            try socket(namespace).setHairpin(link: link, on: true)
        case .addAddress(let namespace, let link, let address, let prefixLength):
            try socket(namespace).addAddress(link: link, address: address, prefixLength: prefixLength)
        case .setUp(let namespace, let link):
            try socket(namespace).setUp(link: link)
        case .addRoute(let namespace, let destination, let gateway, let device, let onlink):
            try socket(namespace).addRoute(destination: destination, gateway: gateway, device: device, onlink: onlink)
        case .addVxlan(let namespace, let name, let vni, let port, let local, let device, let mac, let mtu):
            try socket(namespace).addVxlan(name: name, vni: vni, port: port, local: local, device: device, learning: false,
                                           mtu: mtu, mac: mac.bytes)
        case .addNeighbor(let namespace, let link, let address, let mac):
            try socket(namespace).addNeighbor(link: link, address: address, mac: mac.bytes, permanent: true)
        case .addForwardingEntry(let namespace, let link, let mac, let destination):
            try socket(namespace).addFDB(link: link, mac: mac.bytes, destination: destination)
        case .loadFirewall(let namespace, let loader, let rules):
            try FirewallLoad.run(loader, rules: rules, in: namespaceHandle(namespace), directory: rulesDirectory)
        }
    }

    private func phase(of operation: KernelOperation) -> String {
        switch operation {
        case .createNamespace: return "namespaces"
        case .setSysctl: return "sysctls"
        case .addBridge, .addVeth, .addVxlan: return "links"
        case .addNeighbor, .addForwardingEntry: return "overlay entries"
        case .loadFirewall: return "service rules"
        case .setMaster, .setHairpin, .setUp: return "link settings"
        case .addAddress: return "addresses"
        case .addRoute: return "routes"
        }
    }

    private func namespaceHandle(_ name: String) throws -> NetworkNamespace {
        if let handle = namespaces[name] { return handle }
        let handle = try NetworkNamespace.open(name)
        namespaces[name] = handle
        return handle
    }

    private func socket(_ namespace: String) throws -> RouteSocket {
        if let socket = sockets[namespace] { return socket }
        let socket = try RouteSocket(in: namespaceHandle(namespace))
        sockets[namespace] = socket
        return socket
    }

    /// Closes every socket and namespace fd (a socket holds its namespace alive).
    public func close() {
        sockets.removeAll()
        namespaces.removeAll()
    }
}

/// Where the time of an apply went, by phase, for `lab up`'s summary and `--timings`.
public struct PhaseTimings: Sendable {
    public private(set) var phases: [(name: String, seconds: Double, count: Int)] = []

    public init() {}

    mutating func add(_ name: String, since start: DispatchTime, count: Int) {
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        if let index = phases.firstIndex(where: { $0.name == name }) {
            phases[index].seconds += seconds
            phases[index].count += count
        } else {
            phases.append((name, seconds, count))
        }
    }
}
