import LabSpec
import Testing
@testable import LabPlan

extension ServiceRulesTests {
    /// Properties every `nft -f` rendering must have: nft evaluates a file top to bottom, so
    /// anything a command names (a chain to jump to, a set to look up) must already exist.
    @Suite struct NFTablesStructureTests {
        static func renderings() throws -> [(String, String)] {
            var all: [(String, String)] = []
            for topology in [try ServiceRulesFixtures.topology(), try ServiceRulesFixtures.referenceExample()] {
                for node in topology.nodes {
                    all.append(("\(topology.lab)/\(node.name)", NFTablesRules.render(topology: topology, node: node)))
                }
            }
            return all
        }

        static func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

        @Test func replacesTheWholeTableAtOnce() throws {
            for (label, text) in try Self.renderings() {
                #expect(Array(Self.lines(text).prefix(3)) == [
                    "add table ip kube-proxy", "delete table ip kube-proxy",
                    "add table ip kube-proxy { comment \"rules for kube-proxy\" ; }",
                ], "\(label)")
                #expect(Self.lines(text).dropFirst(3).allSatisfy { $0.hasPrefix("add ") }, "\(label)")
                #expect(Self.lines(text).allSatisfy { $0.contains(" ip kube-proxy") }, "\(label)")
            }
        }

        @Test func chainsAndSetsExistBeforeTheyAreNamed() throws {
            for (label, text) in try Self.renderings() {
                var chains: Set<String> = []
                var sets: Set<String> = []
                for line in Self.lines(text) {
                    let words = line.split(separator: " ").map(String.init)
                    if line.hasPrefix("add chain ") { chains.insert(words[4]); continue }
                    if line.hasPrefix("add set ") || line.hasPrefix("add map ") { sets.insert(words[4]); continue }
                    if line.hasPrefix("add rule ") { #expect(chains.contains(words[4]), "\(label): rule in unknown chain: \(line)") }
                    if line.hasPrefix("add element ") { #expect(sets.contains(words[4]), "\(label): element of unknown set: \(line)") }
                    for (i, word) in words.enumerated() where (word == "goto" || word == "jump") && i + 1 < words.count {
                        #expect(chains.contains(words[i + 1]), "\(label): \(word) \(words[i + 1]) before its chain exists")
                    }
                    for word in words where word.hasPrefix("@") {
                        #expect(sets.contains(String(word.dropFirst())), "\(label): \(word) before its set exists")
                    }
                }
            }
        }

        /// Every regular chain is reachable: from a rule, a verdict-map element, or a base chain.
        /// `reject-chain` is kube-proxy's fixed helper, referenced only while some service has
        /// no endpoints.
        @Test func everyRegularChainIsReferenced() throws {
            for (label, text) in try Self.renderings() {
                let lines = Self.lines(text)
                let declared = lines.filter { $0.hasPrefix("add chain ") && !$0.contains(" hook ") }
                    .map { $0.split(separator: " ").map(String.init)[4] }
                let referenced = Set(lines.flatMap { line -> [String] in
                    let words = line.split(separator: " ").map(String.init)
                    return words.indices.filter { (words[$0] == "goto" || words[$0] == "jump") && $0 + 1 < words.count }.map { words[$0 + 1] }
                })
                for chain in declared where chain != "reject-chain" {
                    #expect(referenced.contains(chain), "\(label): \(chain) is never jumped to")
                }
            }
        }

        @Test func endpointChainsEndInDNAT() throws {
            for (label, text) in try Self.renderings() {
                let lines = Self.lines(text)
                let endpointChains = lines.filter { $0.hasPrefix("add chain ip kube-proxy endpoint-") }
                    .map { $0.split(separator: " ").map(String.init)[4] }
                #expect(!endpointChains.isEmpty, "\(label)")
                for chain in endpointChains {
                    let last = lines.last { $0.hasPrefix("add rule ip kube-proxy \(chain) ") }
                    #expect(last?.contains(" dnat to ") == true, "\(label): \(chain)")
                }
            }
        }

        /// An element is added once, even when two ports share a ClusterIP.
        @Test func elementsAreAddedOnce() throws {
            for (label, text) in try Self.renderings() {
                let elements = Self.lines(text).filter { $0.hasPrefix("add element ") }
                #expect(Set(elements).count == elements.count, "\(label)")
            }
            let twoPorts = Self.lines(NFTablesRules.render(topology: try ServiceRulesFixtures.topology(),
                                                           node: try ServiceRulesFixtures.topology().nodes[0]))
            #expect(twoPorts.filter { $0 == "add element ip kube-proxy cluster-ips { 10.96.0.10 }" }.count == 1)
        }

        /// `numgen random mod N` must list exactly N choices, numbered 0…N−1.
        @Test func numgenCoversEveryIndex() throws {
            for (label, text) in try Self.renderings() {
                for line in Self.lines(text) where line.contains("numgen random mod ") {
                    let words = line.split(separator: " ").map(String.init)
                    let n = try #require(words.firstIndex(of: "mod").flatMap { Int(words[$0 + 1]) })
                    let indices = words.indices.filter { words[$0] == ":" }.compactMap { Int(words[$0 - 1]) }
                    #expect(indices == Array(0..<n), "\(label): \(line)")
                }
            }
        }
    }
}
