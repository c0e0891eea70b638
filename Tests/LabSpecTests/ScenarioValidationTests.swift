import Testing
@testable import LabSpec

/// `scenarios:`: faults and probes decoded like the rest of the file, errors at the value's
/// line and column.
@Suite struct ScenarioValidationTests {
    static let lab = """
    name: demo
    networks: [{name: rack-1, cidr: 10.1.0.0/24}, {name: wan, cidr: 10.9.0.0/24}]
    nodes: [{name: node-1}, {name: node-2, network: wan}]
    pods:
      - {name: pod-a, node: node-1, labels: {app: web}}
      - {name: pod-b, node: node-2, labels: {app: web}}
    services: [{name: web, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}]

    """

    @Test func scenariosAreDecoded() throws {
        let file = try Lab.load(Self.lab + """
            scenarios:
              - name: node-2 dies
                faults: [{down: node/node-2, notReadyAfter: 0s}]
                probes: [{from: pod-a, to: service/web, http: {port: 80, path: /hostname}, repeat: 20, expect: {servedBy: [pod-a]}}]
              - name: slow wan
                faults: [{impair: network/wan, delay: 100ms, jitter: 1ms}, {partition: [rack-1, network/wan]}]
                probes: [{from: pod-a, to: pod-b, ping: {count: 5}, expect: {rtt: ">100ms"}}]

            """).lab
        #expect(file.scenarios.map(\.name) == ["node-2 dies", "slow wan"])
        // The very faults `lab fault` makes.
        #expect(file.scenarios[0].faults == [Fault(kind: .down, targets: ["node/node-2"], notReadyAfterMilliseconds: 0)])
        #expect(file.scenarios[0].faults[0].summary == "down node/node-2 (not ready after 0s)")
        #expect(file.scenarios[1].faults == [
            try Fault.impair("network/wan", delay: "100ms", jitter: "1ms"),
            try Fault.partition("rack-1", "network/wan"),
        ])
        #expect(file.scenarios[1].faults[0].summary == "impair network/wan: delay 100ms jitter 1ms")
        #expect(file.scenarios[1].probes.first?.expect.rtt == MeasurementBound(comparison: .greaterThan, value: 100))
    }

    @Test func aNetworkCannotGoDownAndADurationMustBeOne() {
        #expect(Lab.error(Self.lab + "scenarios: [{name: s, faults: [{down: network/wan}], probes: []}]\n")?.description
            == "lab.yaml:8:39: scenarios[0].faults[0].down: \"network/wan\" is not a target here: write a pod, node or host (pod/, node/, host/ and a name)")
        #expect(Lab.error(Self.lab + "scenarios: [{name: s, faults: [{down: node-2, notReadyAfter: soon}], probes: []}]\n")?.description
            == "lab.yaml:8:62: scenarios[0].faults[0].notReadyAfter: notReadyAfter \"soon\" is not a duration; write one like 30s, 500ms or 2m")
    }

    @Test func aFaultWithNoActionSaysWhichThereAre() {
        let messages = Lab.errors(Self.lab + "scenarios: [{name: s, faults: [{stop: pod-a}], probes: []}]\n").map(\.description)
        #expect(messages.contains { $0.hasPrefix("lab.yaml:8:33: scenarios[0].faults[0].stop: unknown key \"stop\"") }, "\(messages)")
        #expect(messages.contains("lab.yaml:8:32: scenarios[0].faults[0]: a fault needs one of down, partition or impair, like {down: node/node-2}"),
                "\(messages)")
    }

    @Test(arguments: [
        ("[{name: s, faults: [{down: node/node-9}], probes: []}]",
         "lab.yaml:8:39: scenarios[0].faults[0].down: unknown node \"node-9\"; did you mean \"node-1\"? (nodes: node-1, node-2)"),
        ("[{name: s, faults: [{impair: network/lan, delay: 5ms}], probes: []}]",
         "lab.yaml:8:41: scenarios[0].faults[0].impair: unknown network \"lan\"; did you mean \"wan\"? (networks: rack-1, wan)"),
        ("[{name: s, faults: [{partition: [wan, wan]}], probes: []}]",
         "lab.yaml:8:44: scenarios[0].faults[0].partition: cannot partition network wan from itself; name two different networks"),
        ("[{name: s, faults: [{down: pod-a, impair: pod-b}], probes: []}]",
         "lab.yaml:8:46: scenarios[0].faults[0].impair: a fault does one thing, but \"down\" and \"impair\" are both given; make them two faults"),
        ("[{name: s, faults: [{down: pod-a, delay: 5ms}], probes: []}]",
         "lab.yaml:8:46: scenarios[0].faults[0].delay: \"delay\" goes with impair, not with down"),
        ("[{name: s, faults: [{down: pod-a, notReadyAfter: 0s}], probes: []}]",
         "lab.yaml:8:61: scenarios[0].faults[0].notReadyAfter: notReadyAfter is for a node that is down (its pods leave the services' endpoints)"),
        ("[{name: s, faults: [{impair: pod-a, jitter: 5ms}], probes: []}]",
         "lab.yaml:8:56: scenarios[0].faults[0].jitter: jitter needs a delay to vary; add delay (like delay: 20ms) or remove jitter"),
        ("[{name: s, faults: [{impair: pod-a, loss: 120%}], probes: []}]",
         "lab.yaml:8:54: scenarios[0].faults[0].loss: loss 120% is out of range 0% to 100%"),
        ("[{name: s, faults: [{impair: service/web, delay: 5ms}], probes: []}]",
         "lab.yaml:8:41: scenarios[0].faults[0].impair: impair acts on a link: a pod, node, host or network, not a service"),
        ("[{name: s, probes: [{from: pod-a, to: pod-z, ping: {}}]}]",
         "lab.yaml:8:50: scenarios[0].probes[0].to: unknown pod, node or host \"pod-z\"; did you mean \"pod-a\"?"),
        ("[{name: s, probes: []}, {name: s, probes: []}]",
         "lab.yaml:8:43: scenarios[1].name: scenario \"s\" is already the name of scenarios[0]; scenario names are unique (--scenario picks them by name)"),
        ("[{name: s, faults: [{down: pod-a}]}]",
         "lab.yaml:8:13: scenarios[0]: missing required key \"probes\" (the probes that run while the faults are on)"),
    ])
    func badScenariosAreErrorsAtTheValue(text: String, expected: String) {
        #expect(Lab.error(Self.lab + "scenarios: " + text + "\n")?.description == expected)
    }
}
