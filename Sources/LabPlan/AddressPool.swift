import LabAddress
import LabSpec

/// Hands out addresses in ascending order, never one that was reserved or handed out before.
struct AddressPool {
    private var taken: Set<UInt32> = []
    /// Where the last search in each network stopped, so allocating n addresses is O(n), not O(n²).
    private var cursors: [IPv4Network: UInt32] = [:]

    mutating func reserve(_ address: IPv4Address) { taken.insert(address.value) }

    /// Takes `address` if nobody has it yet (a lab that is up keeps what it was given).
    mutating func claim(_ address: IPv4Address) -> Bool { taken.insert(address.value).inserted }

    /// The lowest free host address of `network` at offset `from` or above (the broadcast
    /// address is never given out).
    mutating func next(in network: IPv4Network, from offset: UInt32) -> IPv4Address? {
        guard let range = network.usableHostRange else { return nil }
        var candidate = max(cursors[network] ?? 0, network.address.value + offset, range.lowerBound)
        while candidate <= range.upperBound {
            if taken.insert(candidate).inserted {
                cursors[network] = candidate + 1
                return IPv4Address(candidate)
            }
            candidate += 1
        }
        cursors[network] = candidate
        return nil
    }
}

/// Hands out equal-sized subnets of a parent prefix (node podCIDRs). The first subnet (x.x.0.0)
/// is handed out last, so by default node N of the file gets 10.244.N.0/24 — what most
/// tutorials show.
struct SubnetPool {
    let parent: IPv4Network
    let prefixLength: Int
    private var reserved: [IPv4Network] = []
    private var nextIndex: UInt64 = 1
    private var firstUsed = false

    init(parent: IPv4Network, prefixLength: Int) {
        self.parent = parent
        self.prefixLength = prefixLength
    }

    mutating func reserve(_ network: IPv4Network) { reserved.append(network) }

    /// Takes `network` if it is one of this pool's subnets and overlaps nothing taken.
    mutating func claim(_ network: IPv4Network) -> Bool {
        guard network.prefixLength == prefixLength, parent.contains(network),
              !reserved.contains(where: { $0.overlaps(network) }) else { return false }
        reserved.append(network)
        return true
    }

    mutating func next() -> IPv4Network? {
        let count = UInt64(1) << UInt64(prefixLength - parent.prefixLength)
        let step = UInt64(1) << UInt64(32 - prefixLength)
        while nextIndex < count {
            let candidate = subnet(nextIndex, step: step)
            nextIndex += 1
            if !reserved.contains(where: { $0.overlaps(candidate) }) {
                reserved.append(candidate)
                return candidate
            }
        }
        if !firstUsed {
            firstUsed = true
            let candidate = subnet(0, step: step)
            if !reserved.contains(where: { $0.overlaps(candidate) }) {
                reserved.append(candidate)
                return candidate
            }
        }
        return nil
    }

    private func subnet(_ index: UInt64, step: UInt64) -> IPv4Network {
        IPv4Network(containing: IPv4Address(parent.address.value + UInt32(index * step)), prefixLength: prefixLength)
    }
}

/// Interface names already used in one namespace; a generated name that collides is derived
/// again with a salt, so collisions are resolved deterministically.
struct InterfaceNameSet {
    private(set) var names: Set<String>

    init(taken: Set<String> = []) { names = taken }

    mutating func claim(_ make: (Int) -> String) -> String {
        var salt = 0
        while true {
            let name = make(salt)
            if names.insert(name).inserted { return name }
            salt += 1
        }
    }

    /// Value-returning variant for use through dictionary defaults.
    func claiming(_ make: (Int) -> String) -> (name: String, set: InterfaceNameSet) {
        var copy = self
        let name = copy.claim(make)
        return (name, copy)
    }
}

/// NodePorts for service ports of type NodePort that do not name one: the lowest free port of
/// 30000–32767 (kube-apiserver's default range), never one named explicitly anywhere in the file.
struct NodePortPool {
    static let range = 30000...32767
    private var taken: Set<Int> = []
    private var cursor = range.lowerBound

    mutating func reserve(_ port: Int) { taken.insert(port) }
    mutating func claim(_ port: Int) -> Bool { Self.range.contains(port) && taken.insert(port).inserted }

    mutating func next() -> Int? {
        while cursor <= Self.range.upperBound {
            defer { cursor += 1 }
            if taken.insert(cursor).inserted { return cursor }
        }
        return nil
    }
}
