import Glibc
import LabAddress

/// Removing what a plan created, for `lab up` of a changed lab. Each verb fails like `ip` does
/// (ENODEV for a link that is gone, EADDRNOTAVAIL for an address, ESRCH for a route, ENOENT
/// for a neighbour or FDB entry); the reconciler only asks for what it knows exists.
extension RouteSocket {
    /// Equivalent to: `ip link del LINK`
    public func deleteLink(_ link: String) throws {
        _ = try socket.exchange(.deleteLink(name: link), operation: "delete link", object: quoted(link))
    }

    /// Equivalent to: `ip link set LINK nomaster`
    public func clearMaster(link: String) throws {
        _ = try socket.exchange(.clearMaster(name: link), operation: "clear master", object: quoted(link))
    }

    /// Equivalent to: `ip addr del ADDRESS/PREFIX dev LINK`
    public func deleteAddress(link: String, address: IPv4Address, prefixLength: Int) throws {
        let index = try linkIndex(link)
        _ = try socket.exchange(.deleteAddress(linkIndex: index, address: address, prefixLength: prefixLength),
                                operation: "delete address", object: "\(address)/\(prefixLength) dev \(quoted(link))")
    }

    /// Equivalent to: `ip route del DEST [via GW] [dev DEV]`
    public func deleteRoute(destination: IPv4Network, gateway: IPv4Address?, device: String?) throws {
        let outputIndex = try device.map(linkIndex)
        var object = destination.prefixLength == 0 ? "default" : destination.description
        if let gateway { object += " via \(gateway)" }
        if let device { object += " dev \(quoted(device))" }
        _ = try socket.exchange(.deleteRoute(destination: destination, gateway: gateway, outputIndex: outputIndex),
                                operation: "delete route", object: object)
    }

    /// Equivalent to: `ip neigh del ADDRESS dev LINK`
    public func deleteNeighbor(link: String, address: IPv4Address) throws {
        let index = try linkIndex(link)
        _ = try socket.exchange(.deleteNeighbor(linkIndex: index, address: address),
                                operation: "delete neighbour", object: "\(address) dev \(quoted(link))")
    }

    /// Equivalent to: `bridge fdb del MAC dev LINK dst IP self`
    public func deleteFDB(link: String, mac: MACAddress, destination: IPv4Address) throws {
        let index = try linkIndex(link)
        _ = try socket.exchange(.deleteForwardingEntry(linkIndex: index, mac: mac, destination: destination),
                                operation: "delete fdb entry", object: "\(mac) dev \(quoted(link)) dst \(destination)")
    }
}
