import LabAddress

/// The temporary nftables table `lab trace` puts in each namespace the packet may cross, and
/// takes away again: `table inet lab_trace` (plus `table bridge lab_trace` where a bridge
/// switches frames without the IP hooks — the fabric).
///
/// - `meta nftrace set 1` at priority −301, before conntrack (−200) and DNAT (−100), on
///   prerouting and output, only for the probe: its source port, or its DSCP (which survives
///   masquerade), or — for replies — its port as destination; inside a VXLAN packet the same
///   ports are matched at the inner header's offset. The kernel clears the trace flag when a
///   packet changes namespace, so every namespace needs its own setter.
/// - Empty chains at priority 1000 on input, forward and postrouting, after every other chain:
///   their policy event tells where the packet went (input: delivered here; forward and
///   postrouting: the device it left by), in namespaces that have no rules of their own.
/// - `limit rate` keeps a busy lab from flooding the listener.
public enum TraceRuleset {
    /// Every trace table's name starts with this; each trace adds the probe's port, so two
    /// traces of one lab at once never replace each other's table.
    public static let table = "lab_trace"

    public static func tableName(port: Int) -> String { "\(table)_\(port)" }
    public static let setterPriority = -301
    public static let observerPriority = 1000
    /// The DSCP the probe carries, one of 32 (8 to 39) chosen by its port: it survives
    /// masquerade, and two traces of one lab at once rarely share it, so neither traces the
    /// other's packets (and a pass is kept only when this trace's own table marked it).
    public static func dscp(port: Int) -> Int { 8 + port % 32 }

    /// VXLAN (UDP 8472) carries outer UDP (8) + VXLAN (8) + inner Ethernet (14) bytes before the
    /// inner IPv4 header; with a 20-byte inner header the inner ports start 50 bytes after the
    /// outer transport header (bit 400) and an ICMP echo's identifier 54 bytes after (bit 432).
    static let innerSourcePortBit = 400
    static let innerDestinationPortBit = 416
    static let innerEchoIDBit = 432
    /// ICMP header (8) + the quoted IPv4 header (20): the quoted transport header's first bit.
    static let quotedSourcePortBit = 224
    /// The same quoted port when the ICMP error travels inside VXLAN (a node's REJECT answering
    /// a pod on another node through flannel.1): the inner ICMP header starts 50 bytes after
    /// the outer transport header, the quoted port 28 bytes later.
    static let innerQuotedSourcePortBit = 624
    /// The inner IPv4 header's DSCP (the top 6 bits of its second byte) and addresses, 30 bytes
    /// after the outer transport header: a masqueraded probe keeps its DSCP but not its port,
    /// and its reply is known by its addresses only.
    static let innerDSCPBit = 248
    static let innerSourceAddressBit = 336
    static let innerDestinationAddressBit = 368

    /// The selectors for a probe from `source` on `port` (its source port, or its echo
    /// identifier).
    public static func selectors(protocol proto: TraceProtocol, port: Int, source: String) -> [String] {
        let limit = "limit rate 200/second"
        switch proto {
        case .tcp, .udp:
            let l4 = proto.rawValue
            return [
                "ip saddr \(source) meta l4proto \(l4) th sport \(port) \(limit) meta nftrace set 1",
                "ip daddr \(source) meta l4proto \(l4) th dport \(port) \(limit) meta nftrace set 1",
                "ip dscp \(dscp(port: port)) meta l4proto \(l4) \(limit) meta nftrace set 1",
                "udp dport 8472 @th,\(innerDSCPBit),6 \(dscp(port: port)) \(limit) meta nftrace set 1",
                "udp dport 8472 @th,\(innerSourcePortBit),16 \(port) \(limit) meta nftrace set 1",
                "udp dport 8472 @th,\(innerDestinationPortBit),16 \(port) \(limit) meta nftrace set 1",
                // An ICMP error about the probe quotes its header: the source port 28 bytes in.
                "icmp type { destination-unreachable, time-exceeded } @th,\(quotedSourcePortBit),16 \(port) \(limit) meta nftrace set 1",
                "udp dport 8472 @th,\(innerQuotedSourcePortBit),16 \(port) \(limit) meta nftrace set 1",
            ]
        case .icmp:
            return [
                "icmp id \(port) \(limit) meta nftrace set 1",
                "ip dscp \(dscp(port: port)) meta l4proto icmp \(limit) meta nftrace set 1",
                "udp dport 8472 @th,\(innerEchoIDBit),16 \(port) \(limit) meta nftrace set 1",
            ]
        }
    }

    /// The `nft -f` script that adds the tables; `bridge`: also trace frames a bridge switches.
    /// `extraMatches`: matches for packets the probe's port no longer identifies (the reply of
    /// a masqueraded request, `ExpectedTrace.replyMatches`).
    public static func install(protocol proto: TraceProtocol, port: Int, source: String, bridge: Bool, extraMatches: [String] = []) -> String {
        let table = tableName(port: port)
        let rules = selectors(protocol: proto, port: port, source: source)
            + extraMatches.flatMap { match in
                ["\(match) limit rate 200/second meta nftrace set 1"]
                    + (encapsulated(match).map { ["\($0) limit rate 200/second meta nftrace set 1"] } ?? [])
            }
        var lines = [
            "add table inet \(table)",
            "delete table inet \(table)",
            "add table inet \(table)",
        ]
        for (chain, hook) in [("mark-prerouting", "prerouting"), ("mark-output", "output")] {
            lines.append("add chain inet \(table) \(chain) { type filter hook \(hook) priority \(setterPriority) ; policy accept ; }")
            lines += rules.map { "add rule inet \(table) \(chain) \($0)" }
        }
        for (chain, hook) in [("seen-input", "input"), ("seen-forward", "forward"), ("seen-postrouting", "postrouting")] {
            lines.append("add chain inet \(table) \(chain) { type filter hook \(hook) priority \(observerPriority) ; policy accept ; }")
        }
        if bridge {
            lines += ["add table bridge \(table)", "delete table bridge \(table)", "add table bridge \(table)"]
            for (chain, hook) in [("mark-prerouting", "prerouting"), ("mark-forward", "forward"), ("mark-output", "output")] {
                lines.append("add chain bridge \(table) \(chain) { type filter hook \(hook) priority \(setterPriority) ; policy accept ; }")
                lines += rules.map { "add rule bridge \(table) \(chain) \($0)" }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The same reply inside VXLAN, by its inner addresses (`ip saddr A ip daddr B …` →
    /// `udp dport 8472 @th,336,32 A @th,368,32 B`): the fabric sees only the outer header.
    static func encapsulated(_ match: String) -> String? {
        let words = match.split(separator: " ").map(String.init)
        guard words.count >= 6, words[0] == "ip", words[1] == "saddr", words[3] == "ip", words[4] == "daddr",
              let source = IPv4Address(words[2]), let destination = IPv4Address(words[5]) else { return nil }
        func hex(_ address: IPv4Address) -> String { "0x" + String(address.value, radix: 16) }
        return "udp dport 8472 @th,\(innerSourceAddressBit),32 \(hex(source)) @th,\(innerDestinationAddressBit),32 \(hex(destination))"
    }

    /// The script that removes what `install` added (`add` first, so it cannot fail on a
    /// namespace where the install did not get that far).
    public static func remove(port: Int, bridge: Bool) -> String {
        let table = tableName(port: port)
        var lines = ["add table inet \(table)", "delete table inet \(table)"]
        if bridge { lines += ["add table bridge \(table)", "delete table bridge \(table)"] }
        return lines.joined(separator: "\n") + "\n"
    }
}
