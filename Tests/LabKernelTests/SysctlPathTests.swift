@testable import LabKernel
import Testing

@Suite struct SysctlPathTests {
    @Test func dotsBecomeSlashes() {
        #expect(SysctlPath.path(forKey: "net.ipv4.ip_forward") == "/proc/sys/net/ipv4/ip_forward")
        #expect(SysctlPath.path(forKey: "net.bridge.bridge-nf-call-iptables") == "/proc/sys/net/bridge/bridge-nf-call-iptables")
    }

    @Test func aSlashedKeyIsAPathSoInterfaceNamesMayHoldDots() {
        #expect(SysctlPath.path(forKey: "net/ipv4/conf/eth0.100/rp_filter") == "/proc/sys/net/ipv4/conf/eth0.100/rp_filter")
    }
}
