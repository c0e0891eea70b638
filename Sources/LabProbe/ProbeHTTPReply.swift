import Foundation

/// An HTTP/1.x response as a probe reads it: the status and the body, de-chunked. Pure and
/// incremental: the probe parses what it has after every read and stops reading as soon as
/// the response is complete, without waiting for the server to close.
struct ProbeHTTPReply: Equatable {
    var status: Int
    var body: [UInt8]

    enum Parse: Equatable {
        /// More bytes are needed.
        case incomplete
        case complete(ProbeHTTPReply)
        /// Not an HTTP response, or cut short: why, in words for the report.
        case malformed(String)
    }

    /// Parses `bytes`, everything received so far. `atEnd`: the server has closed, so what is
    /// missing will never come. `bodyless`: the request was HEAD, whose response has no body
    /// whatever its headers say.
    static func parse(_ bytes: [UInt8], atEnd: Bool, bodyless: Bool = false) -> Parse {
        var offset = 0
        while true {
            guard let head = Head.parse(bytes, from: offset) else {
                let prefix = Array("HTTP/".utf8)
                let seen = bytes[offset...].prefix(prefix.count)
                if !prefix.starts(with: seen) {
                    return .malformed("not an HTTP response: " + ProbeFormat.quoted(String(decoding: bytes[offset...], as: UTF8.self)))
                }
                guard atEnd else { return .incomplete }
                return .malformed(bytes.count == offset ? "the server closed the connection without answering"
                                                        : "the connection closed inside the response head")
            }
            if case .malformed(let reason) = head { return .malformed(reason) }
            guard case .parsed(let status, let fields, let bodyStart) = head else { return .incomplete }
            // 1xx responses are interim (100 Continue, 103 Early Hints): the real one follows.
            if (100..<200).contains(status), status != 101 {
                offset = bodyStart
                continue
            }
            if bodyless || status == 204 || status == 304 || status == 101 {
                return .complete(ProbeHTTPReply(status: status, body: []))
            }
            let rest = Array(bytes[bodyStart...])
            if fields["transfer-encoding"]?.lowercased().contains("chunked") == true {
                return dechunk(rest, status: status, atEnd: atEnd)
            }
            if let lengthText = fields["content-length"] {
                guard let length = Int(lengthText), length >= 0 else {
                    return .malformed("bad Content-Length \(ProbeFormat.quoted(lengthText))")
                }
                if rest.count >= length { return .complete(ProbeHTTPReply(status: status, body: Array(rest.prefix(length)))) }
                return atEnd ? .malformed("the body was cut short: \(rest.count) of \(length) bytes") : .incomplete
            }
            // Neither length nor chunks: the body ends when the connection does.
            return atEnd ? .complete(ProbeHTTPReply(status: status, body: rest)) : .incomplete
        }
    }

    /// The status line and header fields (names lower-cased, the last of repeated ones).
    private enum Head {
        case parsed(status: Int, fields: [String: String], bodyStart: Int)
        case malformed(String)

        /// Nil until the blank line that ends the head has arrived.
        static func parse(_ bytes: [UInt8], from offset: Int) -> Head? {
            var lines: [String] = []
            var lineStart = offset
            var index = offset
            while index < bytes.count {
                if bytes[index] == UInt8(ascii: "\n") {
                    var line = bytes[lineStart..<index]
                    if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                    if line.isEmpty { return head(lines, bodyStart: index + 1) }
                    lines.append(String(decoding: line, as: UTF8.self))
                    lineStart = index + 1
                }
                index += 1
            }
            return nil
        }

        private static func head(_ lines: [String], bodyStart: Int) -> Head {
            guard let statusLine = lines.first else { return .malformed("an empty response head") }
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3,
                  let status = Int(parts[1]), (100...999).contains(status) else {
                return .malformed("bad status line " + ProbeFormat.quoted(statusLine))
            }
            var fields: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].lowercased()
                fields[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            return .parsed(status: status, fields: fields, bodyStart: bodyStart)
        }
    }

    /// Decodes `Transfer-Encoding: chunked`: hex size lines (extensions after `;` ignored),
    /// each chunk followed by CRLF, ended by a zero-size chunk; trailers are not needed.
    private static func dechunk(_ bytes: [UInt8], status: Int, atEnd: Bool) -> Parse {
        var body: [UInt8] = []
        var index = 0
        let cutShort: Parse = atEnd ? .malformed("the chunked body was cut short") : .incomplete
        while true {
            guard let newline = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) else { return cutShort }
            let sizeText = String(decoding: bytes[index..<newline], as: UTF8.self)
                .split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0 else {
                return .malformed("bad chunk size " + ProbeFormat.quoted(sizeText))
            }
            if size == 0 { return .complete(ProbeHTTPReply(status: status, body: body)) }
            let start = newline + 1
            guard bytes.count >= start + size + 1 else { return cutShort }
            body += bytes[start..<start + size]
            index = start + size
            // The CRLF (or a bare LF) after the chunk's data.
            if bytes[index] == UInt8(ascii: "\r") { index += 1 }
            guard index < bytes.count else { return cutShort }
            guard bytes[index] == UInt8(ascii: "\n") else { return .malformed("a chunk is not followed by CRLF") }
            index += 1
        }
    }
}
