extension StringProtocol {
    /// The text's lines, split on the byte `\n`: splitting a node's rules (hundreds of kB) by
    /// Characters cost more than diffing them.
    func byteLines(omittingEmpty: Bool = true) -> [Substring] {
        let text = Substring(self)
        return text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: omittingEmpty).map { Substring($0) }
    }
}
