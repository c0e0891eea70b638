import Foundation
import LabAgent
import Testing

let curlPath = ["/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// The agent against the client operators and probes actually use.
extension AgentServerTests {
    @Test(.enabled(if: curlPath != nil, "curl is not installed"))
    func curlGetsEveryAnswer() throws {
        try withServer([loopback("web-1", .http)]) { server in
            let base = "http://127.0.0.1:\(server.port())"
            #expect(try curl(base + "/hostname") == "web-1|200")
            #expect(try curl(base + "/echo?msg=hello%20curl") == "hello curl|200")
            #expect(try curl(base + "/healthz") == "ok|200")
            #expect(try curl(base + "/missing") == "404 page not found\n|404")
            #expect(try curl("-X", "POST", "-d", "x", base + "/echo") == "405 method not allowed\n|405")
            let clientIP = try curl(base + "/clientip")
            #expect(clientIP.hasPrefix("127.0.0.1:") && clientIP.hasSuffix("|200"))
            // HEAD: curl -I prints the head; Content-Length is the GET body's.
            let head = try curl("-I", base + "/hostname")
            #expect(head.contains("HTTP/1.1 200 OK"))
            #expect(head.lowercased().contains("content-length: 5"))
            // Two URLs in one invocation reuse the connection (keep-alive); curl says so on stderr.
            let reuse = try runCurl(["-sS", "-v", base + "/hostname", base + "/healthz"])
            #expect(reuse.output == "web-1ok")
            #expect(reuse.errors.contains("Re-using existing connection") || reuse.errors.contains("Reusing existing"))
        }
    }

    /// The body, a bar and the status code (`-w`), as curl prints them.
    private func curl(_ arguments: String...) throws -> String {
        let result = try runCurl(["-sS", "-w", "|%{http_code}"] + arguments)
        #expect(result.status == 0, "curl \(arguments): \(result.errors)")
        return result.output
    }

    private func runCurl(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: curlPath!)
        process.arguments = ["--noproxy", "*", "--max-time", "10"] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
    }
}
