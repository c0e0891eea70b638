import Crypto

/// The hash kube-proxy names its chains with: base32 of SHA-256 (swift-crypto's), cut to a
/// prefix. Both layouts take their hashed names from here, so `iptables-save` and `nft list`
/// in a lab node show the names a real node shows for the same service.
enum KubeProxyHash {
    /// The first `length` characters of base32(sha256(text)).
    static func base32SHA256(_ text: String, length: Int) -> String {
        String(Base32.encode(Array(SHA256.hash(data: Array(text.utf8)))).prefix(length))
    }
}
