import Testing
@testable import LabSpec

/// `link:` on pods, nodes, hosts and networks: units as people write them, typed values, and
/// errors at the value's line and column.
@Suite struct LinkImpairmentTests {
    static let lab = """
    name: demo
    networks: [{name: wan, cidr: 10.9.0.0/24, link: {delay: 40ms}}]
    nodes:
      - {name: node-1, link: {rate: 1gbit}}
    hosts: [{name: client, link: {loss: 0.5%}}]

    """

    @Test func valuesAreTyped() throws {
        let file = try Lab.load(Self.lab + "pods: [{name: web-1, node: node-1, link: {delay: 20ms, jitter: 5ms, loss: 1%, rate: 10mbit}}]\n").lab
        let pod = try #require(file.pods.first?.link)
        #expect(pod == LinkImpairment(delayMicroseconds: 20_000, jitterMicroseconds: 5_000, loss: 0.01, rateBitsPerSecond: 10_000_000))
        #expect(pod.summary == "delay 20ms jitter 5ms loss 1% rate 10mbit")
        #expect(file.networks.first?.link == LinkImpairment(delayMicroseconds: 40_000))
        #expect(file.nodes.first?.link == LinkImpairment(rateBitsPerSecond: 1_000_000_000))
        #expect(file.hosts.first?.link == LinkImpairment(loss: 0.005))
    }

    @Test func withoutLinkNothingIsImpaired() throws {
        let file = try Lab.load(Lab.minimal + "pods: [{name: a, node: node-1, link: {}}]\n").lab
        #expect(file.pods.first?.link == nil)
        #expect(file.nodes.first?.link == nil)
    }

    @Test func unitsAsPeopleWriteThem() {
        #expect(ImpairmentText.microseconds("1.5s") == .success(1_500_000))
        #expect(ImpairmentText.microseconds("250us") == .success(250))
        #expect(ImpairmentText.microseconds("0ms") == .success(0))
        #expect(ImpairmentText.bitsPerSecond("512kbit") == .success(512_000))
        #expect(ImpairmentText.bitsPerSecond("10Mbit") == .success(10_000_000))
        #expect(ImpairmentText.bitsPerSecond("2.5gbit") == .success(2_500_000_000))
        #expect(ImpairmentText.fraction("100%") == .success(1))
        #expect(ImpairmentText.fraction("0.25%") == .success(0.0025))
        #expect(ImpairmentText.rate(1_500_000) == "1500kbit")
        #expect(ImpairmentText.percent(0.0025) == "0.25%")
        #expect(ImpairmentText.duration(1_500) == "1500us")
    }

    @Test func jitterWithoutDelayIsAnError() {
        #expect(Lab.error(Lab.minimal + "pods: [{name: a, node: node-1, link: {jitter: 5ms}}]\n")?.description
            == "lab.yaml:4:47: pods[0].link.jitter: jitter needs a delay to vary; add delay (like delay: 20ms) or remove jitter")
    }

    @Test func lossMustBeAPercentageUpTo100() {
        #expect(Lab.error(Lab.minimal + "pods: [{name: a, node: node-1, link: {loss: 120%}}]\n")?.description
            == "lab.yaml:4:45: pods[0].link.loss: loss 120% is out of range 0% to 100%")
        #expect(Lab.error(Lab.minimal + "pods: [{name: a, node: node-1, link: {loss: 0.1}}]\n")?.message
            == "loss \"0.1\" is not understood; did you mean a percentage, like 0.1%? (like 1%)")
    }

    @Test func negativeValuesAreRejected() {
        #expect(Lab.error(Lab.minimal + "pods: [{name: a, node: node-1, link: {delay: -5ms}}]\n")?.message
            == "delay -5ms is negative; write a value like 20ms")
        #expect(Lab.error(Lab.minimal + "hosts: [{name: n, link: {rate: -1mbit}}]\n")?.message
            == "rate -1mbit is negative; write a value like 10mbit")
    }

    @Test func unitTyposGetADidYouMean() {
        #expect(Lab.error(Lab.minimal + "pods: [{name: a, node: node-1, link: {rate: 10mbps}}]\n")?.message
            == "rate \"10mbps\" is not understood; did you mean mbit? (like 10mbit)")
        #expect(Lab.error(Lab.minimal + "pods: [{name: a, node: node-1, link: {rate: 10mbt}}]\n")?.message
            == "rate \"10mbt\" is not understood; did you mean mbit? (like 10mbit)")
        #expect(Lab.error(Lab.minimal + "pods: [{name: a, node: node-1, link: {delay: 20msec}}]\n")?.message
            == "delay \"20msec\" is not understood; did you mean ms? (like 20ms)")
        #expect(Lab.error(Lab.minimal + "pods: [{name: a, node: node-1, link: {delay: 2sec}}]\n")?.message
            == "delay \"2sec\" is not understood; did you mean s? (like 20ms)")
        #expect(Lab.error(Lab.minimal + "pods: [{name: a, node: node-1, link: {delay: 20}}]\n")?.message
            == "delay \"20\" is not understood; did you mean a unit, like 20ms? (like 20ms)")
        #expect(Lab.error(Lab.minimal + "pods: [{name: a, node: node-1, link: {rate: fast}}]\n")?.message
            == "rate \"fast\" is not understood; write a value like 10mbit")
    }

    @Test func rateOutOfRangeAndUnknownKeys() {
        #expect(Lab.error(Lab.minimal + "pods: [{name: a, node: node-1, link: {rate: 1kbit}}]\n")?.message
            == "rate 1kbit is out of range 8kbit to 100gbit")
        let error = Lab.error(Lab.minimal + "pods: [{name: a, node: node-1, link: {delya: 5ms}}]\n")
        #expect(error?.message.contains("did you mean \"delay\"") == true, "\(String(describing: error))")
    }
}
