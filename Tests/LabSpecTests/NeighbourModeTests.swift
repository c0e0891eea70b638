import Testing
@testable import LabSpec

/// `cluster.neighbours`: how the lab's namespaces learn their neighbours' MACs.
@Suite struct NeighbourModeTests {
    @Test func theDefaultIsAuto() throws {
        #expect(try Lab.load(Lab.minimal).lab.cluster.neighbours == .auto)
    }

    @Test(arguments: [("auto", NeighbourMode.auto), ("arp", .arp), ("static", .static)])
    func eachModeDecodes(_ text: String, _ mode: NeighbourMode) throws {
        #expect(try Lab.load(Lab.minimal + "cluster: {neighbours: \(text)}\n").lab.cluster.neighbours == mode)
    }

    @Test func aBadValueNamesTheModesAndTheClosestOneWithItsPosition() {
        let error = Lab.error(Lab.minimal + "cluster:\n  neighbours: statik\n")
        #expect(error?.description
            == "lab.yaml:5:15: cluster.neighbours: \"statik\" is not a neighbour mode (auto, arp, static); did you mean \"static\"?")
        #expect(Lab.error(Lab.minimal + "cluster: {neighbours: permanent}\n")?.message
            == "\"permanent\" is not a neighbour mode (auto, arp, static)")
    }

    @Test func theAmericanSpellingOfTheKeyGetsDidYouMean() {
        let error = Lab.error(Lab.minimal + "cluster:\n  neighbors: static\n")
        #expect(error?.description == "lab.yaml:5:3: cluster.neighbors: unknown key \"neighbors\"; did you mean \"neighbours\"?")
    }

    @Test func aValueThatIsNotTextIsAnError() {
        #expect(Lab.error(Lab.minimal + "cluster: {neighbours: [arp]}\n") != nil)
    }
}
