import LabSpec
import Testing
@testable import LabPlan

extension ServiceRulesTests {
    /// Properties every iptables rendering must have, whatever the services: a restore that
    /// iptables-restore accepts and that leaves no dangling or orphaned chain.
    @Suite struct IPTablesStructureTests {
        static let builtIn: Set<String> = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]
        static let verdicts: Set<String> = ["ACCEPT", "DROP", "REJECT", "RETURN", "MARK", "MASQUERADE", "DNAT"]

        /// Every rendering of both fixtures, on every node, with the options that change layout.
        static func renderings() throws -> [(String, String)] {
            var all: [(String, String)] = []
            for topology in [try ServiceRulesFixtures.topology(), try ServiceRulesFixtures.referenceExample()] {
                for node in topology.nodes {
                    for options in [IPTablesRules.Options(), .init(localhostNodePorts: true, randomFully: false, conntrackTCPLiberal: true),
                                    .init(hooksInBuffer: true), .init(localhostNodePorts: true, hooksInBuffer: true)] {
                        all.append(("\(topology.lab)/\(node.name)/\(options)", IPTablesRules.render(topology: topology, node: node, options: options)))
                    }
                }
            }
            return all
        }

        @Test func filterThenNatEachCommitted() throws {
            for (label, text) in try Self.renderings() {
                let restore = RestoreText(text)
                #expect(restore.problems.isEmpty, "\(label): \(restore.problems)")
                #expect(restore.tables.map(\.name) == ["filter", "nat"], "\(label)")
            }
        }

        @Test func everyJumpTargetIsDeclaredInItsTable() throws {
            for (label, text) in try Self.renderings() {
                for table in RestoreText(text).tables {
                    let declared = Set(table.chains)
                    for target in table.targets where !Self.verdicts.contains(target) {
                        #expect(declared.contains(target), "\(label) *\(table.name): -j \(target) has no :\(target) line")
                    }
                    for rule in table.rules {
                        #expect(declared.contains(rule.chain) || Self.builtIn.contains(rule.chain),
                                "\(label) *\(table.name): -A \(rule.chain) into an undeclared chain")
                    }
                }
            }
        }

        /// A declared chain nobody jumps to is dead weight (or a missing jump): only the chains
        /// the hook rules enter may lack a jump inside the buffer.
        @Test func everyDeclaredChainIsUsed() throws {
            let hooks = IPTablesRules.hookRules(options: .init(localhostNodePorts: true))
            for (label, text) in try Self.renderings() {
                for table in RestoreText(text).tables {
                    let entered = Set(hooks.filter { $0.table == table.name }.map { $0.arguments.last! })
                    let targets = Set(table.targets)
                    for chain in table.chains {
                        #expect(targets.contains(chain) || entered.contains(chain), "\(label) *\(table.name): \(chain) is never used")
                    }
                    #expect(Set(table.chains).count == table.chains.count, "\(label) *\(table.name): a chain is declared twice")
                }
            }
        }

        @Test func chainNamesFitIPTables() throws {
            for (label, text) in try Self.renderings() {
                for table in RestoreText(text).tables {
                    for chain in table.chains { #expect(chain.count <= IPTablesChainNames.maxLength, "\(label): \(chain)") }
                }
            }
        }

        /// Every KUBE-SEP jump lands in a chain that DNATs (or the packet would fall through).
        @Test func everyEndpointChainEndsInDNAT() throws {
            for (label, text) in try Self.renderings() {
                let nat = try #require(RestoreText(text).table("nat"))
                for chain in nat.chains where chain.hasPrefix("KUBE-SEP-") {
                    let last = try #require(nat.rules(in: chain).last, "\(label): \(chain) is empty")
                    #expect(last.contains("DNAT"), "\(label): \(chain) does not end in DNAT")
                }
            }
        }

        @Test func nodePortsJumpIsLastInKubeServices() throws {
            for (label, text) in try Self.renderings() {
                let nat = try #require(RestoreText(text).table("nat"))
                let last = try #require(nat.rules(in: "KUBE-SERVICES").last)
                #expect(last.last == "KUBE-NODEPORTS", "\(label)")
            }
        }

        /// Rule i of n load-balancing jumps has probability 1/(n−i); the last has none.
        @Test func probabilitiesAreOneInNMinusI() throws {
            for (label, text) in try Self.renderings() {
                let nat = try #require(RestoreText(text).table("nat"))
                for chain in nat.chains where chain.hasPrefix("KUBE-SVC-") || chain.hasPrefix("KUBE-SVL-") {
                    let jumps = nat.rules(in: chain).filter { $0.last!.hasPrefix("KUBE-SEP-") && !$0.contains("recent") }
                    #expect(!jumps.isEmpty, "\(label): \(chain) has no endpoints")
                    for (i, rule) in jumps.enumerated() {
                        let probability = rule.firstIndex(of: "--probability").map { rule[$0 + 1] }
                        if i == jumps.count - 1 {
                            #expect(probability == nil, "\(label): last rule of \(chain) must be unconditional")
                        } else {
                            #expect(probability == LoadBalancingProbability.text(oneIn: jumps.count - i), "\(label): \(chain) rule \(i)")
                        }
                    }
                }
            }
        }
    }
}
