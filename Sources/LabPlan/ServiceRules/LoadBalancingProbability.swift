/// The `--probability` of kube-proxy's random load balancing: rule *i* of *n* matches with
/// 1/(n−i), so every endpoint gets 1/n of new connections, and the last rule is unconditional.
public enum LoadBalancingProbability {
    /// `computeProbability(n)`: Go's `fmt.Sprintf("%0.10f", 1.0/float64(n))`, byte for byte.
    ///
    /// Go rounds the *double* nearest 1/n (not the real number) to ten decimals, half to even.
    /// The two differ exactly at ties such as n = 10240 (1/n = 0.00009765625, whose double is a
    /// hair above, so Go prints …563), so this works on the double's exact binary value with
    /// integer arithmetic instead of trusting a formatter (LabPlan does not use Foundation).
    public static func text(oneIn n: Int) -> String {
        precondition(n >= 1, "a probability needs at least one endpoint")
        let value = 1.0 / Double(n)
        // value = significand × 2^-shift exactly, with a 53-bit significand.
        let significand = value.significandBitPattern | (1 << 52)
        let shift = 52 - Int(value.exponent)
        let scale: UInt64 = 10_000_000_000
        let product = significand.multipliedFullWidth(by: scale)
        let (quotient, remainderIsHalf, remainderAboveHalf) = divideByPowerOfTwo(high: product.high, low: product.low, shift: shift)
        var digits = quotient
        if remainderAboveHalf || (remainderIsHalf && digits % 2 == 1) { digits += 1 }
        let fraction = String(digits % scale)
        return "\(digits / scale)." + String(repeating: "0", count: 10 - fraction.count) + fraction
    }

    /// `(high:low) >> shift` for 1 ≤ shift < 128, and how the dropped bits compare with one half.
    private static func divideByPowerOfTwo(high: UInt64, low: UInt64, shift: Int) -> (UInt64, Bool, Bool) {
        precondition(shift > 0 && shift < 128)
        func bit(_ i: Int) -> Bool { i >= 64 ? (high >> UInt64(i - 64)) & 1 == 1 : (low >> UInt64(i)) & 1 == 1 }
        let quotient: UInt64 = shift >= 64 ? high >> UInt64(shift - 64) : (low >> UInt64(shift)) | (high << UInt64(64 - shift))
        let halfBit = bit(shift - 1)
        let belowHalf = (0..<(shift - 1)).contains { bit($0) }
        return (quotient, halfBit && !belowHalf, halfBit && belowHalf)
    }
}
