import LabSpec
import Testing
@testable import LabPlan

/// A change of NetworkPolicies alone is planned without planning either lab: only the nodes
/// whose policy layout changes get their rules rendered, old and new. What it loads, and the
/// whole rules it leaves, must be exactly what a change worked out from both whole plans gives.
@Suite struct PolicyChangeTests {
    /// 4 nodes, 24 pods `p0…p23` in namespaces `x` and `y`, labelled `app: a…f`, and a
    /// service. In namespace x, the app-a pods (p0, p12) are on node-1 and the app-b pods (p1,
    /// p13) on node-3; in namespace y the app-d pods (p3, p15) are on node-4.
    static func text(policies: String, proxy: String = "iptables", network: String = "routed",
                     namespaces: String = "namespaces: [{name: x, labels: {team: red}}, {name: y, labels: {team: blue}}]") -> String {
        var text = "name: npchange\ncluster: {network: \(network), proxy: \(proxy)}\n"
        text += "nodes: [{name: node-1}, {name: node-2}, {name: node-3}, {name: node-4}]\n\(namespaces)\npods:\n"
        let apps = ["a", "b", "c", "d", "e", "f"]
        for index in 0..<24 {
            let app = apps[index % 6]
            let node = app == "a" ? 1 + index / 6 % 2 : app == "b" ? 3 + index / 6 % 2 : 1 + index % 4
            text += "  - {name: p\(index), namespace: \(index % 4 < 2 ? "x" : "y"), node: node-\(node), labels: {app: \(app)}, "
            text += "containers: [{name: c, agent: {tcp: [80, 8080]}, ports: [{name: http, containerPort: 8080}]}]}\n"
        }
        text += "services: [{name: web, namespace: x, selector: {app: c}, ports: [{port: 80, targetPort: 8080}]}]\n"
        return policies.isEmpty ? text : text + "networkPolicies:\n" + policies
    }

    static let base = """
      - {name: pa, namespace: x, podSelector: {matchLabels: {app: a}}, ingress: [{from: [{podSelector: {matchLabels: {app: c}}}], ports: [{port: 8080}]}]}
      - {name: pb, namespace: x, podSelector: {matchLabels: {app: b}}, policyTypes: [Ingress, Egress], ingress: [{from: [{namespaceSelector: {matchLabels: {team: blue}}}]}], egress: [{to: [{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.1.0/24]}}]}]}
      - {name: pd, namespace: y, podSelector: {matchLabels: {app: d}}, ingress: [{ports: [{port: http}]}]}
      - {name: pe, namespace: x, podSelector: {matchLabels: {app: e}}, policyTypes: [Egress], egress: [{to: [{podSelector: {}}]}]}

    """

    static func topology(_ text: String, previous: Topology? = nil) throws -> Topology {
        try TopologyBuilder.build(LabFileLoader.parse(text, file: "npchange.yaml").lab, previous: previous)
    }

    /// The shortcut's change against the one worked out from both whole plans: the same
    /// operations, the same whole rules for the nodes it speaks for, and every other node's
    /// rules the same before and after. Returns the nodes it rendered.
    @discardableResult
    static func expectSameAsWholePlans(from oldText: String, to newText: String, _ comment: Comment) throws -> Set<String> {
        let old = try topology(oldText)
        let new = try topology(newText, previous: old)
        let shortcut = try #require(Reconciler.policyChange(from: old, to: new), comment)
        let whole = Reconciler.fullChange(from: old, to: new)
        #expect(shortcut.plan == whole.plan, comment)
        #expect(shortcut.onlyPolicies == (old.policy?.namespaces == new.policy?.namespaces) && !whole.onlyPolicies, comment)
        let scope = try #require(shortcut.rulesScope)
        #expect(shortcut.rules == whole.rules.filter { scope.contains($0.netns) }, comment)
        let before = Planner.plan(old).operations.filter { $0.isFirewallLoad && !scope.contains($0.netns) }
        #expect(before == whole.rules.filter { !scope.contains($0.netns) }, "\(comment): a node left out keeps its rules")
        #expect(Reconciler.change(from: old, to: new) == shortcut)
        try expectSameFromSavedRules(old, new, shortcut, comment)
        return Set(new.nodes.filter { scope.contains($0.netns) }.map(\.name))
    }

    /// The change made from the old lab's saved rules (`rules/`, as a build wrote them), with
    /// only the policy part rendered: the very change the shortcut renders both sides for.
    static func expectSameFromSavedRules(_ old: Topology, _ new: Topology, _ shortcut: LabChange, _ comment: Comment) throws {
        func savedRules(_ topology: Topology) -> [String: String] {
            Dictionary(Planner.plan(topology).operations.compactMap { operation -> (String, String)? in
                guard case .loadFirewall(let netns, let loader, let rules) = operation else { return nil }
                return ("\(netns).\(loader.fileExtension)", rules)
            }, uniquingKeysWith: { $1 })
        }
        let saved = savedRules(old)
        let fromSaved = Reconciler.policyChange(from: old, to: new) { saved["\($0).\($1.fileExtension)"] }
        let lossyNFTables = new.proxy == .nftables && !ImpairmentPlan.lossRules(new).isEmpty
        guard old.policy != nil, new.policy != nil, !lossyNFTables else {
            #expect(fromSaved == nil, "\(comment): a lab without policies on one side, or a lossy nftables node, is rendered")
            return
        }
        #expect(fromSaved == shortcut, comment)
        // The old policy part is found by its shape, whatever it holds: from rules that already
        // hold the new policies, the same new rules and nothing to load.
        let savedNew = savedRules(new)
        let fromNew = try #require(Reconciler.policyChange(from: old, to: new) { savedNew["\($0).\($1.fileExtension)"] }, comment)
        #expect(fromNew.rules == shortcut.rules && fromNew.plan.operations.isEmpty, comment)
        // A saved file of another shape is not trusted: a policy chain declared before
        // kube-proxy's, a policy table's command before the policy table.
        let misshapen = Reconciler.policyChange(from: old, to: new) { netns, loader in
            saved["\(netns).\(loader.fileExtension)"].map {
                loader == .nft ? "add chain ip kube-router-filter-ipv4 STALE\n" + $0
                    : $0.replacingOccurrences(of: "*filter\n", with: "*filter\n:KUBE-POD-FW-STALE - [0:0]\n")
            }
        }
        if shortcut.rulesScope?.isEmpty == false { #expect(misshapen == nil, comment) }
    }

    static let modes = [("routed", "iptables"), ("vxlan", "iptables"), ("routed", "nftables")]

    /// The iptables splice takes out exactly the policy part, found by its shape: a chain of
    /// another kind declared among the policy chains, or a policy chain's rule outside their
    /// run, is another shape, and nothing is spliced.
    @Test func aSpliceRefusesAnotherShape() throws {
        let old = try Self.topology(Self.text(policies: Self.base))
        let node = try #require(old.node(named: "node-1"))
        let whole = try #require(Planner.plan(old).operations.compactMap { operation -> String? in
            guard case .loadFirewall(node.netns, .iptablesRestore, let rules) = operation else { return nil }
            return rules
        }.first)
        let part = PolicyRulesSplice.IPTablesPart(PolicyLayout.make(topology: old, node: node), topology: old)
        #expect(PolicyRulesSplice.iptables(whole, with: part) == whole, "the same part in, the same rules out")
        let chainAfter = whole.replacingOccurrences(of: ":KUBE-ROUTER-INPUT - [0:0]\n", with: ":KUBE-ROUTER-INPUT - [0:0]\n:OTHER - [0:0]\n")
        #expect(chainAfter != whole && PolicyRulesSplice.iptables(chainAfter, with: part) == nil)
        let strayRule = whole.replacingOccurrences(of: "\nCOMMIT\n", with: "\n-A KUBE-NWPLCY-COMMON -j ACCEPT\nCOMMIT\n")
        #expect(strayRule != whole && PolicyRulesSplice.iptables(strayRule, with: part) == nil)
    }

    /// Lossy links add rules of their own to a node's load (iptables): kept as they are. On an
    /// nftables node they are a load of their own, saved in the same file as the `nft` input,
    /// so the saved rules are not used there.
    @Test(arguments: ["iptables", "nftables"])
    func lossRulesStay(_ proxy: String) throws {
        let lossy = { (text: String) in
            text.replacingOccurrences(of: "{name: node-1}", with: "{name: node-1, link: {loss: 1%}}")
                .replacingOccurrences(of: "{name: p0, namespace: x, node: node-1,", with: "{name: p0, namespace: x, node: node-1, link: {loss: 2%},")
        }
        let changed = Self.base.replacingOccurrences(of: "from: [{podSelector: {matchLabels: {app: c}}}]", with: "from: [{podSelector: {matchLabels: {app: f}}}]")
        let nodes = try Self.expectSameAsWholePlans(from: lossy(Self.text(policies: Self.base, proxy: proxy)),
                                                    to: lossy(Self.text(policies: changed, proxy: proxy)), "lossy")
        #expect(nodes == ["node-1"])
    }

    @Test(arguments: modes)
    func aChangedPeerRendersOnlyTheNodesOfThePolicysPods(_ network: String, _ proxy: String) throws {
        let changed = Self.base.replacingOccurrences(of: "from: [{podSelector: {matchLabels: {app: c}}}]", with: "from: [{podSelector: {matchLabels: {app: f}}}]")
        let nodes = try Self.expectSameAsWholePlans(from: Self.text(policies: Self.base, proxy: proxy, network: network),
                                                    to: Self.text(policies: changed, proxy: proxy, network: network), "peer changed")
        #expect(nodes == ["node-1"], "pa selects pods of node-1 only")
    }

    /// A selector that now selects pods of other nodes: the nodes it left and those it reached.
    @Test(arguments: modes)
    func aSelectorThatMovesToOtherNodes(_ network: String, _ proxy: String) throws {
        let moved = Self.base.replacingOccurrences(of: "name: pa, namespace: x, podSelector: {matchLabels: {app: a}}",
                                                   with: "name: pa, namespace: x, podSelector: {matchLabels: {app: b}}")
        let nodes = try Self.expectSameAsWholePlans(from: Self.text(policies: Self.base, proxy: proxy, network: network),
                                                    to: Self.text(policies: moved, proxy: proxy, network: network), "selector moved")
        // pa's pods were on node-1, its new ones are on node-3.
        #expect(nodes == ["node-1", "node-3"])
    }

    @Test func addedRemovedAndNamedPortPolicies() throws {
        let added = Self.base + "  - {name: pf, namespace: x, podSelector: {matchLabels: {app: f}}, ingress: [{ports: [{port: http}]}]}\n"
        try Self.expectSameAsWholePlans(from: Self.text(policies: Self.base), to: Self.text(policies: added), "added")
        try Self.expectSameAsWholePlans(from: Self.text(policies: added), to: Self.text(policies: Self.base), "removed")
        let lines = Self.base.split(separator: "\n", omittingEmptySubsequences: false)
        let withoutPD = lines.filter { !$0.contains("name: pd,") }.joined(separator: "\n")
        let nodes = try Self.expectSameAsWholePlans(from: Self.text(policies: Self.base), to: Self.text(policies: withoutPD), "named port policy removed")
        #expect(nodes == ["node-4"], "pd selects the app-d pods of namespace y, on node-4")
        let renamedPort = Self.base.replacingOccurrences(of: "ports: [{port: http}]", with: "ports: [{port: 80}]")
        try Self.expectSameAsWholePlans(from: Self.text(policies: Self.base), to: Self.text(policies: renamedPort), "named port to number")
    }

    /// Changes after which every node's layout may differ: still the same as whole plans.
    @Test func changesThatRenderEveryNode() throws {
        let all: Set<String> = ["node-1", "node-2", "node-3", "node-4"]
        let lines = Self.base.split(separator: "\n").map(String.init)
        let reordered = ([lines[1], lines[0]] + lines[2...]).joined(separator: "\n") + "\n"
        #expect(try Self.expectSameAsWholePlans(from: Self.text(policies: Self.base), to: Self.text(policies: reordered), "reordered") == all)
        let relabelled = "namespaces: [{name: x, labels: {team: blue}}, {name: y, labels: {team: red}}]"
        #expect(try Self.expectSameAsWholePlans(from: Self.text(policies: Self.base),
                                                to: Self.text(policies: Self.base, namespaces: relabelled), "namespace labels") == all)
        #expect(try Self.expectSameAsWholePlans(from: Self.text(policies: "", namespaces: ""),
                                                to: Self.text(policies: Self.base, namespaces: ""), "first policies") == all)
        #expect(try Self.expectSameAsWholePlans(from: Self.text(policies: Self.base, namespaces: ""),
                                                to: Self.text(policies: "", namespaces: ""), "last policies gone") == all)
    }

    /// Anything but the policies changed: the whole plans decide, and the supervisor is told.
    @Test func otherChangesTakeTheWholePlans() throws {
        let old = try Self.topology(Self.text(policies: Self.base))
        let morePods = Self.text(policies: Self.base).replacingOccurrences(
            of: "services:", with: "  - {name: extra, namespace: x, node: node-1, labels: {app: a}}\nservices:")
        let new = try Self.topology(morePods, previous: old)
        #expect(Reconciler.policyChange(from: old, to: new) == nil)
        #expect(!Reconciler.change(from: old, to: new).onlyPolicies)
        #expect(Reconciler.change(from: old, to: old).onlyPolicies)
        #expect(Reconciler.change(from: old, to: old).plan.operations.isEmpty)
    }
}

