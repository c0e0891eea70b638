/// Where a namespace's links are told to make no IPv6 link-local address (`Planner.sysctls`).
enum LinkLocalSetting {
    /// `net.ipv6.conf.default.addr_gen_mode=1`, before any link of the namespace exists.
    case namespaceDefault
    /// `addrgenmode none` on each link before it comes up (`KernelOperation.setAddrGenModeNone`).
    case perLink
}
