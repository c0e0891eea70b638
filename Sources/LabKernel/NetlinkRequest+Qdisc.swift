import CMnl

/// Root qdisc requests (`RTM_*QDISC`): the token bucket that limits a link's rate and netem,
/// which delays (and can drop or rate-limit) what a link sends. Both shape egress only, which
/// is why an impaired veth gets one on each end.
///
/// The constants and structs of `linux/pkt_sched.h` are written out here (the header is not
/// part of the CMnl shim), byte for byte as iproute2 lays them out.
extension NetlinkRequest {
    /// `TC_H_ROOT`: the qdisc attached to the device itself.
    static let rootParent: UInt32 = 0xFFFF_FFFF
    /// `TCA_TBF_PARMS`, `TCA_TBF_RATE64`, `TCA_TBF_BURST`.
    static let tbfParameters = 1, tbfRate64 = 4, tbfBurst = 6
    /// `TCA_NETEM_RATE`, `TCA_NETEM_RATE64`.
    static let netemRate = 6, netemRate64 = 8
    /// `TC_LINKLAYER_ETHERNET`: with it the kernel computes transmit times itself and ignores
    /// the 1 KiB rate table (`TCA_TBF_RTAB`) that `tc` still sends, so it is left out.
    static let linkLayerEthernet: UInt8 = 1

    /// Equivalent to: `tc qdisc replace dev LINK root tbf rate R burst B limit L`
    ///
    /// `rate` in bytes per second, `burst` and `limit` in bytes. The same request `tc` sends,
    /// without the rate table.
    static func replaceTokenBucket(linkIndex: Int32, rateBytesPerSecond: UInt64, burstBytes: UInt32,
                                   limitBytes: UInt32) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_NEWQDISC, flags: replace)
        request.putHeader(qdiscHeader(linkIndex: linkIndex))
        request.put(TCA_KIND, string: "tbf")
        request.options {
            var parameters: [UInt8] = []
            parameters += rateSpec(rateBytesPerSecond)
            parameters += [UInt8](repeating: 0, count: 12)  // peakrate: none
            parameters += littleEndian(limitBytes)
            parameters += littleEndian(transmitTicks(bytes: UInt64(burstBytes), rateBytesPerSecond: rateBytesPerSecond))
            parameters += littleEndian(UInt32(0))  // mtu: only with a peak rate
            request.put(tbfParameters, bytes: parameters)
            request.put(tbfBurst, u32: burstBytes)
            if rateBytesPerSecond >= 1 << 32 { request.put(tbfRate64, bytes: littleEndian(rateBytesPerSecond)) }
        }
        return request
    }

    /// Equivalent to: `tc qdisc replace dev LINK root netem limit N [delay D [J]] [loss P%] [rate R]`
    ///
    /// netem's `TCA_OPTIONS` is not a plain nest: its payload starts with a `tc_netem_qopt`
    /// (six u32s) and the `TCA_NETEM_*` attributes follow it; the kernel skips the struct
    /// before it parses them. Delay and jitter go in the struct's tick fields, as `tc` writes
    /// them for anything under about 4 minutes (the 64-bit nanosecond attributes are for
    /// longer); loss is a fraction of 2³²−1.
    static func replaceNetem(linkIndex: Int32, limit: UInt32, delayMicroseconds: Int, jitterMicroseconds: Int,
                             loss: Double, rateBytesPerSecond: UInt64?) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_NEWQDISC, flags: replace)
        request.putHeader(qdiscHeader(linkIndex: linkIndex))
        request.put(TCA_KIND, string: "netem")
        request.options {
            var options: [UInt8] = []
            options += littleEndian(timeTicks(microseconds: delayMicroseconds))  // latency
            options += littleEndian(limit)
            options += littleEndian(UInt32((loss * Double(UInt32.max)).rounded()))
            options += littleEndian(UInt32(0))  // gap
            options += littleEndian(UInt32(0))  // duplicate
            options += littleEndian(timeTicks(microseconds: jitterMicroseconds))
            request.putHeader(options.withUnsafeBytes { $0.load(as: NetemOptions.self) })
            if let rateBytesPerSecond {
                var rate = littleEndian(UInt32(min(rateBytesPerSecond, UInt64(UInt32.max))))
                rate += [UInt8](repeating: 0, count: 12)  // packet overhead, cell size, cell overhead
                request.put(netemRate, bytes: rate)
                if rateBytesPerSecond >= 1 << 32 { request.put(netemRate64, bytes: littleEndian(rateBytesPerSecond)) }
            }
        }
        return request
    }

    /// Equivalent to: `tc qdisc del dev LINK root` — ENOENT when the link has only its default.
    static func deleteRootQdisc(linkIndex: Int32) -> NetlinkRequest {
        let request = NetlinkRequest(type: RTM_DELQDISC, flags: change)
        request.putHeader(qdiscHeader(linkIndex: linkIndex))
        return request
    }

    /// `tc qdisc replace`: create the root qdisc, or swap an existing one's kind and settings.
    static let replace = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE

    /// `TCA_OPTIONS` as `tc` writes it: a nest without the `NLA_F_NESTED` flag.
    private func options(_ body: () -> Void) {
        guard let start = mnl_attr_nest_start_check(header, NetlinkRequest.capacity, UInt16(TCA_OPTIONS)) else {
            preconditionFailure("netlink request larger than \(NetlinkRequest.capacity) bytes")
        }
        start.pointee.nla_type = UInt16(TCA_OPTIONS)
        body()
        mnl_attr_nest_end(header, start)
    }

    private static func qdiscHeader(linkIndex: Int32) -> tcmsg {
        var header = tcmsg()
        header.tcm_family = UInt8(AF_UNSPEC)
        header.tcm_ifindex = linkIndex
        header.tcm_handle = 0  // the kernel picks one
        header.tcm_parent = rootParent
        return header
    }

    /// `struct tc_ratespec` as `tc` fills it for an Ethernet link: cell_log 3 and cell_align
    /// −1 are what its rate-table code sets (the kernel ignores both for Ethernet).
    private static func rateSpec(_ bytesPerSecond: UInt64) -> [UInt8] {
        [3, linkLayerEthernet] + littleEndian(UInt16(0)) + littleEndian(UInt16(0xFFFF)) + littleEndian(UInt16(0))
            + littleEndian(UInt32(min(bytesPerSecond, UInt64(UInt32.max))))
    }

    /// Microseconds in psched ticks of 64 ns, truncated as `tc_core_time2tick` truncates.
    static func timeTicks(microseconds: Int) -> UInt32 {
        UInt32(min(Double(microseconds) * 15.625, Double(UInt32.max)))
    }

    /// The time `bytes` take at `rate`, in ticks, as `tc_calc_xmittime` computes it: whole
    /// microseconds first, and at the rate spec's 32-bit rate (tc's own quirk; the kernel reads
    /// `TCA_TBF_BURST` instead whenever it is there, as it always is here).
    static func transmitTicks(bytes: UInt64, rateBytesPerSecond: UInt64) -> UInt32 {
        let rate = Double(min(rateBytesPerSecond, UInt64(UInt32.max)))
        let microseconds = UInt32(min(1_000_000 * (Double(bytes) / rate), Double(UInt32.max)))
        return timeTicks(microseconds: Int(microseconds))
    }

    private static func littleEndian<Value: FixedWidthInteger>(_ value: Value) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }
}

/// `struct tc_netem_qopt`: 24 bytes, put as the head of netem's `TCA_OPTIONS`.
private struct NetemOptions: BitwiseCopyable {
    var words: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
}
