import Testing
@testable import LabPlan

/// How a changed lab's NetworkPolicy rules reach a running node: sets swapped whole, stale sets
/// destroyed only after the rules that matched them, and the policy jump kept first.
@Suite struct PolicyFirewallDiffTests {
    static let sets = """
    create KUBE-DST-A hash:ip family inet hashsize 1024 maxelem 65536
    add KUBE-DST-A 10.244.1.2
    create KUBE-SRC-B hash:net family inet hashsize 1024 maxelem 65536
    add KUBE-SRC-B 10.0.0.0/8
    add KUBE-SRC-B 10.1.0.0/16 nomatch

    """

    @Test func aChangedSetIsRebuiltAndSwappedAndANewOneCreated() {
        let after = """
        create KUBE-DST-A hash:ip family inet hashsize 1024 maxelem 65536
        add KUBE-DST-A 10.244.1.2
        add KUBE-DST-A 10.244.2.2
        create KUBE-SRC-C hash:ip family inet hashsize 1024 maxelem 65536
        add KUBE-SRC-C 10.244.1.9

        """
        #expect(IPSetDiff.change(from: Self.sets, to: after) == """
        create TMP-KUBE-DST-A hash:ip family inet hashsize 1024 maxelem 65536
        add TMP-KUBE-DST-A 10.244.1.2
        add TMP-KUBE-DST-A 10.244.2.2
        swap TMP-KUBE-DST-A KUBE-DST-A
        destroy TMP-KUBE-DST-A
        create KUBE-SRC-C hash:ip family inet hashsize 1024 maxelem 65536
        add KUBE-SRC-C 10.244.1.9

        """)
        #expect(IPSetDiff.destroyGone(from: Self.sets, to: after) == "destroy KUBE-SRC-B\n")
        #expect(IPSetDiff.change(from: Self.sets, to: Self.sets).isEmpty)
        #expect(IPSetDiff.temporaryName(String(repeating: "X", count: 31)).count == 31)
    }

    @Test func goneSetsAreDestroyedAfterTheRulesChange() {
        let before: [KernelOperation] = [
            .createNetns("n1"),
            .loadFirewall(netns: "n1", loader: .ipset, rules: Self.sets),
            .loadFirewall(netns: "n1", loader: .iptablesRestore, rules: "*filter\n:KUBE-NWPLCY-X - [0:0]\n-A KUBE-NWPLCY-X -j RETURN\nCOMMIT\n"),
        ]
        let after: [KernelOperation] = [
            .createNetns("n1"),
            .loadFirewall(netns: "n1", loader: .iptablesRestore, rules: "*filter\nCOMMIT\n"),
        ]
        let operations = FirewallDiff.operations(before: before, after: after, added: [])
        #expect(operations.map(\.loaderForTest) == [.iptablesRestore, .ipset])
        if case .loadFirewall(_, _, let text) = operations.last {
            #expect(text == "destroy KUBE-DST-A\ndestroy KUBE-SRC-B\n")
        }
    }

    @Test func anAddedHookGoesWhereTheNewRulesHaveIt() {
        let old = ["-j KUBE-SERVICES", "-j KUBE-FORWARD"]
        #expect(IPTablesRestoreDiff.additions(to: "FORWARD", from: old, to: ["-j KUBE-ROUTER-FORWARD"] + old)
                == ["-I FORWARD 1 -j KUBE-ROUTER-FORWARD"])
        #expect(IPTablesRestoreDiff.additions(to: "FORWARD", from: old, to: old + ["-j LAST"]) == ["-A FORWARD -j LAST"])
        #expect(IPTablesRestoreDiff.additions(to: "FORWARD", from: old, to: ["-j A", "-j KUBE-SERVICES", "-j B", "-j KUBE-FORWARD", "-j C"])
                == ["-I FORWARD 1 -j A", "-I FORWARD 3 -j B", "-A FORWARD -j C"])
    }
}

extension KernelOperation {
    var loaderForTest: FirewallLoader? {
        if case .loadFirewall(_, let loader, _) = self { return loader }
        return nil
    }
}
