import Glibc

/// Where a sysctl lives under `/proc/sys`.
///
/// `/proc/sys/net` shows the network namespace of the thread that opens the file, which is why
/// these are read and written from inside `NetworkNamespace.perform`.
enum SysctlPath {
    /// `net.ipv4.ip_forward` → `/proc/sys/net/ipv4/ip_forward`. A key written with slashes
    /// (`net/ipv4/conf/eth0.100/rp_filter`) is taken as a path, as `sysctl(8)` does, because an
    /// interface name may itself contain dots.
    static func path(forKey key: String) -> String {
        let relative = key.contains("/") ? key : key.replacingOccurrences(of: ".", with: "/")
        return "/proc/sys/" + relative.drop(while: { $0 == "/" })
    }
}

private extension String {
    func replacingOccurrences(of target: Character, with replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}

extension NetworkNamespace {
    /// Equivalent to: `ip netns exec NAME sysctl -w KEY=VALUE ...`, all in one thread hop.
    ///
    /// Written in order; the first failure stops and is thrown, naming the key (ENOENT when the
    /// key does not exist, e.g. `net.bridge.*` without br_netfilter; EINVAL for a bad value).
    public func writeSysctls(_ settings: [(key: String, value: String)]) throws {
        let settings = settings.map { SysctlSetting(key: $0.key, value: $0.value) }
        let namespace = name
        try perform {
            for setting in settings {
                try setting.write(namespace: namespace)
            }
        }
    }

    /// `writeSysctls` from a thread that is already inside this namespace (the body of
    /// `create(_:thenInside:)`), without a thread of its own.
    public func writeSysctlsFromThreadInside(_ settings: [(key: String, value: String)]) throws {
        for (key, value) in settings {
            try SysctlSetting(key: key, value: value).write(namespace: name)
        }
    }

    /// Equivalent to: `ip netns exec NAME sysctl -n KEY` — the value without its trailing newline.
    public func readSysctl(_ key: String) throws -> String {
        let namespace = name
        return try perform { try NetworkNamespace.readSysctl(key, namespace: namespace) }
    }

    /// `readSysctl`, on a thread that is already inside this namespace.
    public func readSysctlFromThreadInside(_ key: String) throws -> String {
        try NetworkNamespace.readSysctl(key, namespace: name)
    }

    private static func readSysctl(_ key: String, namespace: String) throws -> String {
        let fd = Glibc.open(SysctlPath.path(forKey: key), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw KernelError(operation: "read sysctl", object: quoted(key), namespace: namespace, errno: currentErrno())
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                throw KernelError(operation: "read sysctl", object: quoted(key), namespace: namespace, errno: currentErrno())
            }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        var text = String(decoding: bytes, as: UTF8.self)
        while text.last == "\n" { text.removeLast() }
        return text
    }
}

/// One `key = value`, kept as a Sendable value so a batch can cross into the namespace thread.
private struct SysctlSetting: Sendable {
    var key: String
    var value: String

    func write(namespace: String) throws {
        let object = "\(quoted(key)) (value \(quoted(value)))"
        let fd = Glibc.open(SysctlPath.path(forKey: key), O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw KernelError(operation: "write sysctl", object: object, namespace: namespace, errno: currentErrno())
        }
        defer { close(fd) }
        // One write call: procfs parses the value per write, so a split write would be two values.
        let bytes = Array(value.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw KernelError(operation: "write sysctl", object: object, namespace: namespace, errno: written < 0 ? currentErrno() : EIO)
        }
    }
}
