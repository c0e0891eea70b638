import Foundation
import LabAddress
import Testing

/// The address values every layer shares: strict parsing, printing as `ip` prints, and the
/// one text coding all three use in `topology.json`.
@Suite struct AddressTests {
    @Test func ipv4AddressesParseStrictlyAndPrintBack() {
        #expect(IPv4Address("10.244.1.2")?.description == "10.244.1.2")
        #expect(IPv4Address("10.244.1.2")?.octets == [10, 244, 1, 2])
        for bad in ["10.244.1", "10.244.1.256", "10.244.01.2", "10.244.1.2/24", "", "a.b.c.d", "1..2.3"] {
            #expect(IPv4Address(bad) == nil, "\(bad)")
        }
        #expect(IPv4Address(10, 0, 0, 1).advanced(by: 255).description == "10.0.1.0")
    }

    @Test func ipv4NetworksRefuseHostBits() {
        let network = IPv4Network("10.244.0.0/16")
        #expect(network?.description == "10.244.0.0/16")
        #expect(network?.broadcast.description == "10.244.255.255")
        #expect(network?.contains(IPv4Address("10.244.7.9")!) == true)
        #expect(IPv4Network("10.244.1.5/16") == nil)
        #expect(IPv4Network("10.244.0.0/33") == nil)
        #expect(IPv4Network(containing: IPv4Address("10.244.1.5")!, prefixLength: 24).description == "10.244.1.0/24")
        #expect(IPv4Network("10.244.1.0/30")?.usableHostRange?.count == 2)
    }

    @Test func macAddressesPrintAsIpPrintsThem() {
        #expect(MACAddress(bytes: [0x02, 0x42, 0x0a, 0xf4, 0x01, 0x00]).description == "02:42:0a:f4:01:00")
        #expect(MACAddress("02:42:0a:f4:01:00")?.bytes == [0x02, 0x42, 0x0a, 0xf4, 0x01, 0x00])
        #expect(MACAddress("02:42:0a:f4:01") == nil)
    }

    /// Each type is a JSON string, and text that does not parse is a decoding error naming the
    /// kind of value expected.
    @Test func everyAddressCodesAsItsText() throws {
        struct Record: Codable, Equatable {
            var address: IPv4Address
            var network: IPv4Network
            var mac: MACAddress
        }
        let record = Record(address: IPv4Address("10.0.0.1")!, network: IPv4Network("10.0.0.0/8")!,
                            mac: MACAddress(bytes: [2, 0, 0, 0, 0, 1]))
        let json = String(decoding: try JSONEncoder().encode(record), as: UTF8.self)
        #expect(json.contains(#""address":"10.0.0.1""#) && json.contains(#""network":"10.0.0.0\/8""#)
                && json.contains(#""mac":"02:00:00:00:00:01""#))
        #expect(try JSONDecoder().decode(Record.self, from: Data(json.utf8)) == record)
        let bad = Data(#"{"address":"10.0.0.300","network":"10.0.0.0/8","mac":"02:00:00:00:00:01"}"#.utf8)
        #expect {
            try JSONDecoder().decode(Record.self, from: bad)
        } throws: { error in
            "\(error)".contains("not an IPv4 address: 10.0.0.300")
        }
    }
}
