import LabAddress

extension MACAddress {
    /// A locally administered unicast MAC (`02:…`) from a stable hash of `parts`, so a lab's
    /// MACs are the same on every `lab up` (and the CNI plugin's trick of pinning the bridge MAC
    /// comes for free: the bridge never changes address as ports join).
    public static func derived(from parts: [String]) -> MACAddress {
        let hash = StableHash.mixed(parts)
        var bytes: [UInt8] = [0x02]
        for shift in stride(from: 32, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: hash >> UInt64(shift)))
        }
        return MACAddress(bytes: bytes)
    }
}
