import Foundation
import Glibc
import LabAgent
import Testing

/// Ports added to and removed from a running server, as a supervisor reload does: the others
/// keep serving, connections included. Part of the serialized `AgentServerTests`, since some
/// count the process's open descriptors.
extension AgentServerTests {
    @Test func addedPortsAnswerAndOthersKeepTheirConnections() throws {
        try withServer([loopback("keep", .tcp)]) { server in
            let kept = try TestSocket.connect(port: server.port(0))
            #expect(try kept.readLine() == "keep")

            let added = server.server.add([[loopback("new", .http), loopback("new", .udp)], [loopback("other", .tcp)]])
            let ids = try #require(try? added[0].get())
            #expect(ids.count == 2)
            let http = try #require(server.server.boundPort(of: ids[0]))
            #expect(try TestSocket.get("/hostname", port: http).response.body == "new")
            let udp = try #require(server.server.boundPort(of: ids[1]))
            let client = try TestSocket.udp()
            try client.sendDatagram("hi", port: udp)
            #expect(try client.receiveDatagram() == "new \(client.localAddress)")
            let other = try #require(try? added[1].get())
            #expect(try TestSocket.connect(port: #require(server.server.boundPort(of: other[0]))).readLine() == "other")

            // The connection accepted before the change is still served.
            try kept.send("still here\n")
            #expect(try kept.readLine() == "still here")
        }
    }

    @Test func removedPortsAreClosedWithTheirConnectionsBeforeRemoveReturns() throws {
        try withServer([loopback("keep", .tcp), loopback("gone", .tcp), loopback("gone", .udp)]) { server in
            let kept = try TestSocket.connect(port: server.port(0))
            let doomed = try TestSocket.connect(port: server.port(1))
            #expect(try kept.readLine() == "keep")
            #expect(try doomed.readLine() == "gone")

            server.server.remove(Array(server.server.initialPorts[1...]))
            #expect(server.server.boundPort(of: server.server.initialPorts[1]) == nil)
            #expect(try doomed.readsEndOfStream(), "the removed port's connection is closed")
            #expect(throws: TestFailure.self) { try TestSocket.connect(port: server.port(1)) }
            // Its port can be had again at once: nothing of the server holds it.
            let rebound = server.server.add([[AgentListener(pod: "again", protocol: .udp, port: server.port(2), address: "127.0.0.1")]])
            #expect((try? rebound[0].get())?.count == 1)

            try kept.send("ok\n")
            #expect(try kept.readLine() == "ok")
        }
    }

    @Test func aGroupWithATakenPortOpensNothingAndTheOthersAreServed() throws {
        try withServer([loopback("first", .tcp)]) { server in
            let free = try freeLoopbackPort()
            let taken = AgentListener(pod: "clash", protocol: .tcp, port: server.port(0), address: "127.0.0.1")
            let opened = AgentListener(pod: "clash", protocol: .http, port: free, address: "127.0.0.1")
            let results = server.server.add([[opened, taken], [loopback("fine", .http)]])
            guard case .failure(let error) = results[0] else {
                Issue.record("a taken port must fail its group")
                return
            }
            #expect(error.errno == EADDRINUSE)
            #expect(error.pod == "clash")
            let fine = try #require(try? results[1].get())
            #expect(try TestSocket.get("/", port: #require(server.server.boundPort(of: fine[0]))).response.body == "fine")
            // The group's first port was opened, then closed again when its second failed.
            let again = server.server.add([[AgentListener(pod: "again", protocol: .http, port: free, address: "127.0.0.1")]])
            #expect((try? again[0].get())?.count == 1, "the failed group left its first socket open")
        }
    }

    @Test func addAndRemoveBeforeRunAreServedOrForgotten() throws {
        let server = try AgentServer(listeners: [])
        let ids = try server.add([[loopback("early", .http)]])[0].get()
        let gone = try server.add([[loopback("never", .tcp)]])[0].get()
        server.remove(gone)
        let port = try #require(server.boundPort(of: ids[0]))
        let finished = DispatchSemaphore(value: 0)
        Thread {
            server.run()
            finished.signal()
        }.start()
        #expect(try TestSocket.get("/hostname", port: port).response.body == "early")
        server.stop()
        #expect(finished.wait(timeout: .now() + 5) == .success)
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's pick, released).
func freeLoopbackPort() throws -> Int {
    let server = try AgentServer(listeners: [loopback("probe", .tcp)])
    return server.boundPorts[0]
}
