import Testing
@testable import LabSpec

/// The small parsers and rules the decoder and validator lean on.
@Suite struct TextRulesTests {
    @Test func editDistanceCountsTyposAndSwaps() {
        #expect(EditDistance.between("name", "name") == 0)
        #expect(EditDistance.between("nmae", "name") == 1)      // adjacent swap
        #expect(EditDistance.between("podCidr", "podCIDR") == 3)
        #expect(EditDistance.between("", "abc") == 3)
        #expect(EditDistance.between("servises", "services") == 1)
        #expect(EditDistance.between("kitten", "sitting") == 3)
    }

    @Test func suggestionsPreferCaseThenNearest() {
        #expect(EditDistance.suggestion(for: "podcidr", among: ["podCIDR", "serviceCIDR"]) == "podCIDR")
        #expect(EditDistance.suggestion(for: "nmae", among: ["name", "node"]) == "name")
        #expect(EditDistance.suggestion(for: "zone", among: ["name", "network", "ip", "podCIDR"]) == nil)
        // Two edits would rewrite a two-letter word entirely: no suggestion.
        #expect(EditDistance.suggestion(for: "to", among: ["ip"]) == nil)
        #expect(EditDistance.suggestion(for: "name", among: ["name"]) == nil)
    }

    @Test func enumValuesGetDidYouMean() {
        #expect(Lab.error(Lab.minimal + "cluster: {proxy: nft}\n")?.message == "\"nft\" is not a proxy mode (iptables, nftables)")
        #expect(Lab.error(Lab.minimal + "cluster: {proxy: iptable}\n")?.message
            == "\"iptable\" is not a proxy mode (iptables, nftables); did you mean \"iptables\"?")
        #expect(Lab.error(Lab.minimal + "services: [{name: s, ports: [{port: 1, protocol: tcp}]}]\n")?.message
            == "\"tcp\" is not a protocol (TCP, UDP, SCTP); did you mean \"TCP\"?")
    }

    @Test func durationsParseExactly() {
        #expect(DurationText.milliseconds("2s") == 2000)
        #expect(DurationText.milliseconds("500ms") == 500)
        #expect(DurationText.milliseconds("1.5s") == 1500)
        #expect(DurationText.milliseconds("1.1s") == 1100)
        #expect(DurationText.milliseconds("2m") == 120_000)
        #expect(DurationText.milliseconds("0.001s") == 1)
        #expect(DurationText.milliseconds("0.5ms") == nil)
        #expect(DurationText.milliseconds("2") == nil)
        #expect(DurationText.milliseconds("s") == nil)
        #expect(DurationText.milliseconds(".5s") == nil)
        #expect(DurationText.milliseconds("-1s") == nil)
        #expect(DurationText.milliseconds("1e3ms") == nil)
        #expect(DurationText.milliseconds("99999999999999999999s") == nil)
    }

    @Test func measurementBoundsParseAndCompare() throws {
        let rtt = try #require(MeasurementBound.rtt("<5ms"))
        #expect(rtt == MeasurementBound(comparison: .lessThan, value: 5))
        #expect(rtt.admits(4.9) && !rtt.admits(5))
        #expect(MeasurementBound.rtt("<= 1.5ms") == MeasurementBound(comparison: .lessOrEqual, value: 1.5))
        #expect(MeasurementBound.rtt("1s") == MeasurementBound(comparison: .lessOrEqual, value: 1000))
        #expect(MeasurementBound.rtt(">200us")?.value == 0.2)
        #expect(MeasurementBound.rtt("fast") == nil)
        #expect(MeasurementBound.rtt("<5") == nil)
        #expect(MeasurementBound.rtt("<infms") == nil)

        let loss = try #require(MeasurementBound.loss("0%"))
        #expect(loss.admits(0) && !loss.admits(0.1))
        #expect(MeasurementBound.loss("<1%") == MeasurementBound(comparison: .lessThan, value: 1))
        #expect(MeasurementBound.loss(">=50%")?.comparison == .greaterOrEqual)
        #expect(MeasurementBound.loss("101%") == nil)
        #expect(MeasurementBound.loss("5") == nil)
    }

    @Test func nameRules() {
        #expect(NameRules.dnsLabel("web-1") == nil)
        #expect(NameRules.dnsLabel(String(repeating: "a", count: 63)) == nil)
        #expect(NameRules.dnsLabel(String(repeating: "a", count: 64)) != nil)
        #expect(NameRules.labName(String(repeating: "a", count: 25)) != nil)
        #expect(NameRules.labelKey("app.kubernetes.io/name") == nil)
        #expect(NameRules.labelKey("a/b/c") == "may contain at most one \"/\"")
        #expect(NameRules.labelValue("") == nil)
        #expect(NameRules.labelValue("v1.2_beta") == nil)
        #expect(NameRules.environmentName("_PATH2") == nil)
        #expect(NameRules.environmentName("A-B") != nil)
        #expect(NameRules.portName("http") == nil)
        #expect(NameRules.portName("8080") == "must contain at least one letter")
        #expect(NameRules.portName("a--b") == "must not contain \"--\"")
    }

    @Test func cidrProblemsExplainThemselves() {
        #expect(CIDRText.problem("10.244.1.5/16") == "10.244.1.5/16 has host bits set; did you mean 10.244.0.0/16?")
        #expect(CIDRText.problem("10.0.0.0") == "10.0.0.0 has no prefix length; write it like 10.0.0.0/24")
    }
}
