import LabAddress
import LabSpec
import LabPlan
@testable import LabProbe

/// A fixed set of results covering every report path: a pass, a failed expectation, a
/// blocked probe that was meant to be blocked, an exec with output, a retried probe.
enum ReportFixtures {
    static let web1 = IPv4Address(10, 0, 0, 5)

    static let results: [ProbeResult] = [
        ProbeResult(name: "ping web-1", from: "client", to: "web-1", endpoint: ProbeEndpoint(address: web1),
                    action: .ping(count: 3), expectation: ProbeExpectation(rtt: MeasurementBound.rtt("<5ms")),
                    tries: [Seen.ping(sent: 3, rtts: [0.041, 0.052, 0.068], ms: 0.412)], elapsedMilliseconds: 0.412),
        ProbeResult(name: "web through the service", from: "client", to: "service/web",
                    endpoint: ProbeEndpoint(address: IPv4Address(10, 96, 0, 10), port: 80),
                    action: .http(path: "/hostname", method: "GET"), expectation: ProbeExpectation(status: 200),
                    tries: [Seen.http(503, "no endpoints", ms: 12.3)], attempts: 2, elapsedMilliseconds: 125.3),
        ProbeResult(name: "db is closed", from: "client", to: "db", endpoint: ProbeEndpoint(address: IPv4Address(10, 0, 0, 7), port: 5432),
                    action: .tcp, expectation: ProbeExpectation(reach: false),
                    tries: [Seen.blocked(.refused, "ECONNREFUSED", ms: 0.2)], elapsedMilliseconds: 0.2),
        ProbeResult(name: "healthz", from: "web-1", to: "", endpoint: nil,
                    action: .exec(["curl", "-sf", "http://127.0.0.1:8080/healthz"]), expectation: ProbeExpectation(),
                    tries: [Seen.exec(0, "ok", ms: 8.5)], elapsedMilliseconds: 8.5),
    ]

    /// A 3×3 matrix where c is isolated but only a → c was expected blocked.
    static let matrix: [ProbeResult] = {
        var results: [ProbeResult] = []
        for from in ["a", "b", "c"] {
            for to in ["a", "b", "c"] where to != from {
                let blocked = to == "c" || from == "c"
                let expectBlocked = from == "a" && to == "c"
                results.append(ProbeResult(
                    name: "mesh: \(from) → \(to)", from: from, to: to, group: "mesh",
                    endpoint: ProbeEndpoint(address: IPv4Address(10, 0, 0, UInt8(from.unicodeScalars.first!.value - 96))),
                    action: .ping(count: 1), expectation: ProbeExpectation(reach: !expectBlocked),
                    tries: [blocked ? Seen.blocked(.timeout, ms: 1000) : Seen.ping(sent: 1, rtts: [0.05], ms: 0.05)],
                    elapsedMilliseconds: blocked ? 1000 : 0.05))
            }
        }
        return results
    }()
}
