import Foundation
import LabSpec
import Testing

/// Faults as the command line and scenarios give them: the checks that need no lab.
@Suite struct FaultTests {
    @Test func aNodeDownGetsTheGracePeriodByDefault() throws {
        let fault = try Fault.down("node/node-2")
        #expect(fault.kind == .down)
        #expect(fault.targets == ["node/node-2"])
        #expect(fault.notReadyAfterMilliseconds == 40_000)
        #expect(fault.durationMilliseconds == nil)
        #expect(fault.key == "down node/node-2")
        #expect(try Fault.down("node/n", notReadyAfter: "0").notReadyAfterMilliseconds == 0)
        #expect(try Fault.down("node/n", notReadyAfter: "1.5s", lasting: "2m").summary
            == "down node/n (not ready after 1500ms) for 2m")
    }

    @Test func aPodOrHostHasNoGracePeriod() throws {
        #expect(try Fault.down("pod/web-1").notReadyAfterMilliseconds == nil)
        #expect(try Fault.down("web-1").notReadyAfterMilliseconds == nil)
        #expect(throws: FaultInputError.self) { try Fault.down("pod/web-1", notReadyAfter: "10s") }
    }

    @Test func badTargetsAndDurationsSayWhatToWrite() {
        #expect(message { try Fault.down("nodes/x") } == "cannot down \"nodes/x\": down takes pod/NAME, node/NAME, host/NAME; did you mean node/x?")
        #expect(message { try Fault.down("node/") } == "\"node/\" is not a target; down takes pod/NAME, node/NAME, host/NAME")
        #expect(message { try Fault.down("network/wan") }?.hasPrefix("cannot down \"network/wan\"") == true)
        #expect(message { try Fault.down("pod/a", lasting: "-2s") } == "for -2s is negative; write a duration like 30s")
        #expect(message { try Fault.down("pod/a", lasting: "soon") } == "for \"soon\" is not a duration; write one like 30s, 500ms or 2m")
        #expect(message { try Fault.down("pod/a", lasting: "2000m") } == "for 2000m is out of range 0s to 24h")
    }

    @Test func aPartitionNeedsTwoDifferentNetworks() throws {
        let fault = try Fault.partition("rack-2", "network/rack-1")
        #expect(fault.targets == ["rack-1", "rack-2"])
        #expect(fault.key == "partition rack-1 rack-2")
        #expect(message { try Fault.partition("wan", "network/wan") } == "cannot partition network wan from itself; name two different networks")
    }

    @Test func impairmentValuesAreCheckedAsInTheFile() throws {
        let fault = try Fault.impair("pod/a", delay: "20ms", jitter: "5ms", loss: "1%", rate: "10mbit", lasting: "2s")
        #expect(fault.impairment == LinkImpairment(delayMicroseconds: 20_000, jitterMicroseconds: 5_000, loss: 0.01,
                                                   rateBitsPerSecond: 10_000_000))
        #expect(fault.durationMilliseconds == 2000)
        #expect(fault.summary == "impair pod/a: delay 20ms jitter 5ms loss 1% rate 10mbit for 2s")
        #expect(try Fault.impair("network/wan", delay: "100ms").targets == ["network/wan"])
        #expect(message { try Fault.impair("pod/a", loss: "120%") } == "loss 120% is out of range 0% to 100%")
        #expect(message { try Fault.impair("pod/a", delay: "-5ms") } == "delay -5ms is negative; write a value like 20ms")
        #expect(message { try Fault.impair("pod/a", rate: "10mbps") } == "rate \"10mbps\" is not understood; did you mean mbit? (like 10mbit)")
        #expect(message { try Fault.impair("pod/a", jitter: "5ms") } == "jitter needs a delay to vary; add --delay (like --delay 20ms) or remove --jitter")
        #expect(message { try Fault.impair("pod/a") }?.hasPrefix("impair pod/a asks for nothing") == true)
        #expect(message { try Fault.impair("pod/a", loss: "0%") }?.hasPrefix("impair pod/a asks for nothing") == true)
    }

    @Test func aFaultRoundTripsThroughJSON() throws {
        let faults = [try Fault.down("node/n1", notReadyAfter: "0", lasting: "2s"), try Fault.partition("a", "b"),
                      try Fault.impair("pod/x", loss: "0.5%")]
        let data = try JSONEncoder().encode(faults)
        #expect(try JSONDecoder().decode([Fault].self, from: data) == faults)
    }

    @Test func durationsPrintInTheirLargestWholeUnit() {
        #expect(FaultText.duration(40_000) == "40s")
        #expect(FaultText.duration(120_000) == "2m")
        #expect(FaultText.duration(1500) == "1500ms")
        #expect(FaultText.duration(0) == "0s")
    }

    private func message(_ body: () throws -> Fault) -> String? {
        do {
            _ = try body()
            return nil
        } catch {
            return (error as? FaultInputError)?.description ?? "\(error)"
        }
    }
}
