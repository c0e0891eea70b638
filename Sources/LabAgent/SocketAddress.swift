import Glibc

/// An IPv4 or IPv6 socket address as the kernel hands it over (`sockaddr_storage` and its
/// length), printed the way agnhost prints a peer: `10.0.0.5:41234` or `[fd00::5]:41234`.
struct SocketAddress: Sendable, CustomStringConvertible {
    private var storage = sockaddr_storage()
    private(set) var length = socklen_t(MemoryLayout<sockaddr_storage>.size)

    /// Parses a numeric address; nil for anything `inet_pton` rejects or a port out of range.
    /// Host names are deliberately not resolved: resolving is a network request in the pod's
    /// namespace, and every address in a lab is already numeric.
    init?(ip: String, port: Int) {
        guard (0...65535).contains(port) else { return nil }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, ip, &v4) == 1 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr = v4
            self.init(copying: address)
        } else if inet_pton(AF_INET6, ip, &v6) == 1 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            address.sin6_addr = v6
            self.init(copying: address)
        } else {
            return nil
        }
    }

    private init<Address>(copying address: Address) {
        withUnsafeMutableBytes(of: &storage) { target in
            withUnsafeBytes(of: address) { target.copyMemory(from: $0) }
        }
        length = socklen_t(MemoryLayout<Address>.size)
    }

    /// An empty address for the kernel to fill in (`accept`, `recvfrom`, `getsockname`).
    init() {}

    var family: Int32 { Int32(storage.ss_family) }

    var port: Int {
        withUnsafeBytes(of: storage) { raw in
            switch family {
            case AF_INET: Int(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))
            case AF_INET6: Int(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))
            default: 0
            }
        }
    }

    /// The address without the port, as `inet_ntop` prints it.
    var ip: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let printed: UnsafePointer<CChar>? = withUnsafeBytes(of: storage) { raw in
            switch family {
            case AF_INET:
                var address = raw.load(as: sockaddr_in.self).sin_addr
                return inet_ntop(AF_INET, &address, &text, socklen_t(text.count))
            case AF_INET6:
                var address = raw.load(as: sockaddr_in6.self).sin6_addr
                return inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
            default:
                return nil
            }
        }
        guard printed != nil else { return "?" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `ip:port`, with IPv6 in brackets as in a URL (Go's `net.JoinHostPort`, which is what
    /// agnhost's `/clientip` returns).
    var description: String {
        family == AF_INET6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// Lets the kernel write an address: `length` goes in as the capacity and comes back as
    /// what was written.
    mutating func withMutableSockaddr<T>(_ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> T) -> T {
        length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        var capacity = length
        let result = withUnsafeMutableBytes(of: &storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &capacity)
        }
        length = capacity
        return result
    }

    /// The address a socket is bound to (`getsockname`), e.g. to learn a port the kernel chose.
    static func local(of fd: Int32) -> SocketAddress? {
        var address = SocketAddress()
        let status = address.withMutableSockaddr { getsockname(fd, $0, $1) }
        return status == 0 ? address : nil
    }
}
