/// One line per query in the format of CoreDNS's `log` plugin (its default "common" format),
/// so habits and scripts made for a cluster's CoreDNS logs work on a lab's:
///
/// `[INFO] 10.244.1.5:46021 - 23857 "AAAA IN web.default.svc.cluster.local. udp 54 false 1232" NOERROR qr,aa,rd 147 0.000112s`
///
/// that is `{remote}:{port} - {id} "{type} {class} {name} {proto} {size} {do} {bufsize}"
/// {rcode} {rflags} {rsize} {duration}`. A message without a readable question shows `-` for
/// its type, class and name.
public enum DNSQueryLog {
    public static func line(client: String, transport: DNSTransport, exchange: DNSExchange, duration: Duration) -> String {
        let question = exchange.question.map { "\($0.type) \($0.class) \($0.name)" } ?? "- - -"
        let flags = exchange.replyHeader?.flagText ?? "-"
        let size = exchange.reply?.count ?? 0
        return "[INFO] \(client) - \(exchange.queryID) \"\(question) \(transport.rawValue) \(exchange.querySize) "
            + "\(exchange.dnssecOK) \(exchange.bufferSize)\" \(exchange.rcode) \(flags) \(size) \(seconds(duration))"
    }

    /// Seconds with up to nine decimals and no trailing zeros, as Go's
    /// `strconv.FormatFloat(d.Seconds(), 'f', -1, 64)` prints them for CoreDNS: `0.000112s`.
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = attoseconds / 1_000_000_000
        guard nanoseconds > 0 else { return "\(seconds)s" }
        var fraction = String(nanoseconds)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(seconds).\(fraction)s"
    }
}
