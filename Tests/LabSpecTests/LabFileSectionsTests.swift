import Testing
@testable import LabSpec

/// Cutting a lab file into its top-level sections, and reading `networkPolicies` from its
/// section alone: the same policies, errors and warnings, at the same places, as the whole file.
@Suite struct LabFileSectionsTests {
    static let base = """
    # a lab
    name: demo
    nodes: [{name: node-1}, {name: node-2}]

    namespaces:
      - {name: store, labels: {team: shop}}
    pods:
      - {name: api, namespace: store, node: node-1, labels: {app: api}}
      - {name: db, namespace: store, node: node-2, labels: {app: db}, containers: [{name: pg, agent: {tcp: [5432]}, ports: [{name: sql, containerPort: 5432}]}]}
      - {name: admin, namespace: ops, node: node-1, labels: {role: admin}}
    # the policies
    networkPolicies:
    """

    static let tail = """

    services:
      - {name: db, namespace: store, selector: {app: db}, ports: [{port: 5432}]}

    """

    static func file(_ policies: String) -> String { base + "\n" + policies + tail }

    @Test func cutsAtEveryKeyOfColumnOneWithItsCommentsAndBlankLines() throws {
        let sections = try #require(LabFileSections(Self.file("  - {name: a, namespace: store, podSelector: {}}")))
        #expect(sections.preamble == "# a lab\n")
        #expect(sections.sections.map(\.key) == ["name", "nodes", "namespaces", "pods", "networkPolicies", "services"])
        #expect(sections.sections.map(\.line) == [2, 3, 5, 7, 12, 14])
        #expect(sections.section("nodes")?.text == "nodes: [{name: node-1}, {name: node-2}]\n\n")
        #expect(sections.section("pods")?.text.hasSuffix("# the policies\n") == true)
        #expect(sections.section("networkPolicies")?.text == "networkPolicies:\n  - {name: a, namespace: store, podSelector: {}}\n")
    }

    @Test func anythingButPlainKeysAtTheTopLevelIsNotCut() {
        for text in ["{name: demo}\n", "---\nname: demo\n", "name: demo\nname: again\n", "\"name\": demo\n", "- a\n",
                     "name: demo\nnodes: [a,\nb]\n", "name: demo\n<<: *x\n", "name:demo\n"] {
            #expect(LabFileSections(text) == nil, "\(text)")
        }
        #expect(LabFileSections("")?.sections.isEmpty == true)
    }

    @Test func tellsWhichSectionsChanged() throws {
        let old = try #require(LabFileSections(Self.file("  - {name: a, namespace: store, podSelector: {}}")))
        let new = try #require(LabFileSections(Self.file("  - {name: b, namespace: store, podSelector: {}}\n  - {name: c}")))
        #expect(new.changedKeys(from: old) == ["networkPolicies"])
        #expect(old.changedKeys(from: old) == [])
        let relabelled = try #require(LabFileSections(Self.file("  - {name: a, namespace: store, podSelector: {}}")
            .replacingOccurrences(of: "role: admin", with: "role: root")))
        #expect(relabelled.changedKeys(from: old) == ["pods"])
        let reordered = try #require(LabFileSections("nodes: [{name: n}]\nname: demo\n"))
        #expect(reordered.changedKeys(from: try #require(LabFileSections("name: demo\nnodes: [{name: n}]\n"))) == nil)
        let commented = try #require(LabFileSections("# other\n" + Self.file("  - {name: a, namespace: store, podSelector: {}}").dropFirst(8)))
        #expect(commented.changedKeys(from: old) == nil)
    }

    @Test func agreesWithAParseOnlyWhenNoValueRunsOnAtColumnOne() throws {
        let plain = Self.file("  - {name: a, namespace: store, podSelector: {}}")
        #expect(try #require(LabFileSections(plain)).agrees(with: Lab.load(plain).lab.sourceMap))
        // YAML reads `services: …` here as the rest of a quoted value.
        let runOn = "name: demo\nnodes: [{name: node-1}]\npods: [{name: a, node: node-1, containers: [{name: c, command: [sleep, \"1\n"
            + "services: [x]\"]}]}]\n"
        let sections = try #require(LabFileSections(runOn))
        #expect(sections.sections.map(\.key) == ["name", "nodes", "pods", "services"])
        let parsed = try LabFileLoader.parse(runOn, file: "lab.yaml")
        #expect(!sections.agrees(with: parsed.lab.sourceMap))
    }

    // MARK: The section alone

    /// What a section of `text` gives alone, the rest of the file being `context`'s.
    static func alone(_ text: String, context: PolicyCheckContext) throws -> Result<LoadedPolicies, LabFileErrors>? {
        let section = try #require(LabFileSections(text)?.section("networkPolicies"))
        do {
            return try LabFileLoader.parsePolicies(section, file: "lab.yaml") { context }.map { .success($0) }
        } catch let errors as LabFileErrors {
            return .failure(errors)
        }
    }

    /// What the full loader gives for the policies of `text`.
    static func whole(_ text: String) -> Result<LoadedPolicies, LabFileErrors> {
        do {
            let loaded = try LabFileLoader.parse(text, file: "lab.yaml")
            return .success(LoadedPolicies(policies: loaded.lab.networkPolicies, warnings: loaded.warnings))
        } catch let errors as LabFileErrors {
            return .failure(errors)
        } catch {
            Issue.record("\(error)")
            return .failure(LabFileErrors([]))
        }
    }

    /// The context the checks read from the file of the same pods and namespaces.
    static let context: PolicyCheckContext = {
        let lab = try! LabFileLoader.parse(file("  - {name: a, namespace: store, podSelector: {}}"), file: "lab.yaml").lab
        return PolicyCheckContext(namespaces: lab.allNamespaces,
                                  pods: lab.pods.map { .init(namespace: $0.namespace, labels: $0.labels) },
                                  declaredPorts: Set(lab.pods.flatMap { $0.containers.flatMap { $0.ports.compactMap(\.name) } }))
    }()

    static let sections = [
        // valid, with warnings of each kind
        """
          - name: db-from-api
            namespace: store
            podSelector: {matchLabels: {app: db}}
            policyTypes: [Ingress, Egress]
            ingress:
              - from:
                  - podSelector: {matchLabels: {app: api}}
                  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ops}}
                  - podSelector: {matchLabels: {app: nothing}}
                  - ipBlock: {cidr: 192.168.1.0/24, except: [192.168.1.2/32]}
                ports: [{protocol: TCP, port: 5432}, {port: sql}, {port: sqll}, {port: 9000, endPort: 9010}]
            egress:
              - to: [{podSelector: {}}]
          - {name: none, namespace: store, podSelector: {matchLabels: {app: ghost}}}
        """,
        // errors of decoding: unknown keys, a bad operator, a bad CIDR, endPort below port
        """
          - {name: a, namespace: store, podSelecter: {}}
          - {name: b, namespace: store, podSelector: {matchExpressions: [{key: x, operator: Is}]}}
          - {name: c, namespace: store, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}], ports: [{port: 90, endPort: 80}]}]}
        """,
        // errors of checking: names, a repeated name, rules of a direction not isolated
        """
          - {name: Bad_Name, namespace: store}
          - {name: twice, namespace: store}
          - {name: twice, namespace: store}
          - {name: egress-only, namespace: store, policyTypes: [Ingress], egress: [{}]}
        """,
        // a key written twice, and a missing name
        """
          - {name: a, namespace: store, namespace: ops}
          - {namespace: store, podSelector: {}}
        """,
        // not a list
        """
          name: a
        """,
    ]

    @Test(arguments: sections.indices)
    func theSectionAloneGivesWhatTheWholeFileGives(_ index: Int) throws {
        let text = Self.file(Self.sections[index])
        let alone = try #require(try Self.alone(text, context: Self.context))
        switch (alone, Self.whole(text)) {
        case let (.success(a), .success(w)):
            #expect(a.policies == w.policies)
            #expect(a.warnings == w.warnings)
            #expect(!a.warnings.isEmpty || index != 0)
        case let (.failure(a), .failure(w)):
            #expect(a.errors == w.errors)
            #expect(!a.errors.isEmpty)
        case let (a, w):
            Issue.record("alone: \(a); whole: \(w)")
        }
    }

    @Test func aSectionThatDoesNotStandAloneIsLeftToTheWholeFile() throws {
        // An alias of an anchor in another section, an anchor, a syntax error: nil, not an error.
        for policies in ["  - {name: a, namespace: store, podSelector: *sel}", "  - &p {name: a, namespace: store}",
                         "  - {name: a, namespace: store"] {
            let alone = try Self.alone(Self.file(policies), context: Self.context)
            #expect(alone == nil, "\(policies)")
        }
    }

    // MARK: Items the applied file had

    @Test func aBlockListIsCutIntoItsItemsByTheirLines() throws {
        let text = "networkPolicies:   # the policies\n\n  - {name: a}\n  # about b\n  - name: b\n    podSelector: {}\n\n  -\n    name: c\n"
        let items = try #require(SectionItems(Substring(text)))
        #expect(items.head == "networkPolicies:   # the policies\n\n")
        #expect(items.items == ["  - {name: a}\n  # about b\n", "  - name: b\n    podSelector: {}\n\n", "  -\n    name: c\n"])
        #expect(items.lineOffsets == [2, 4, 7] && items.indentation == 2)
        #expect(items.text(replacing: [1]) == "networkPolicies:   # the policies\n\n  - {name: a}\n  # about b\n  - {}\n\n\n  -\n    name: c\n")
        for other in ["networkPolicies: [{name: a}]\n", "networkPolicies:\n  - {name: a}\n name: b\n",
                      "networkPolicies:\n  - {name: a}\n  name: b\n", "networkPolicies:\n  - {name: a}\n\t- {name: b}\n",
                      "networkPolicies:\n  name: a\n", "networkPolicies:\n",
                      // line breaks YAML knows and the cut does not: a `\r` alone, NEL, U+2028, U+2029
                      "networkPolicies:\n  - {name: a}\r  - {name: b}\n", "networkPolicies:\n  - {name: a}\u{85}  - {name: b}\n",
                      "networkPolicies:\n  - {name: a}\u{2028}  - {name: b}\n", "networkPolicies:\n  - {name: a}\u{2029}  - {name: b}\n"] {
            #expect(SectionItems(Substring(other)) == nil, "\(other)")
        }
        #expect(SectionItems("networkPolicies:\r\n  - {name: a}\r\n  - {name: b}\r\n")?.items.count == 2)
    }

    static let items = [
        "  - {name: a, namespace: store, podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: api}}}]}]}",
        "  - name: b\n    namespace: store\n    podSelector: {matchLabels: {app: api}}\n    policyTypes: [Egress]\n    egress: [{ports: [{port: 53, protocol: UDP}]}]",
        "  - {name: c, namespace: store, podSelector: {}, ingress: [{ports: [{port: sql}]}]}",
    ]

    /// A section read with the applied file's section and policies beside it, and what it
    /// reused of them.
    static func reusing(_ old: [String], _ new: [String], policies: [NetworkPolicySpec]? = nil) throws -> LoadedPolicies? {
        let oldText = Self.file(old.joined(separator: "\n")), newText = Self.file(new.joined(separator: "\n"))
        let previous = try #require(LabFileSections(oldText)?.section("networkPolicies"))
        let section = try #require(LabFileSections(newText)?.section("networkPolicies"))
        let oldPolicies = try policies ?? LabFileLoader.parse(oldText, file: "lab.yaml").lab.networkPolicies
        return try LabFileLoader.parsePolicies(section, file: "lab.yaml", previous: (previous, { oldPolicies })) { Self.context }
    }

    /// The items the applied file had are its policies, not read again; the others are read as
    /// the whole file reads them, in their places.
    @Test func itemsTheAppliedFileHadAreItsPolicies() throws {
        var changed = Self.items
        changed[1] = changed[1].replacingOccurrences(of: "port: 53", with: "port: 5353")
        let moved = [changed[2], changed[0], changed[1]]
        for new in [changed, moved, Self.items + ["  - {name: d, namespace: store, podSelector: {}}"], Array(Self.items.dropFirst())] {
            let loaded = try #require(try Self.reusing(Self.items, new), "\(new)")
            guard case .success(let whole) = Self.whole(Self.file(new.joined(separator: "\n"))) else {
                Issue.record("\(new) does not load")
                continue
            }
            #expect(loaded.policies == whole.policies && loaded.warnings.isEmpty)
        }
        // What the running lab says the applied items were is what they are.
        var told = try LabFileLoader.parse(Self.file(Self.items.joined(separator: "\n")), file: "lab.yaml").lab.networkPolicies
        told[0].name = "as-running"
        #expect(try Self.reusing(Self.items, changed, policies: told)?.policies.map(\.name) == ["as-running", "b", "c"])
        // Items are matched by their bytes: a character spelled another way is another item.
        let composed = Self.items[0].replacingOccurrences(of: "app: db", with: "app: d\u{E9}")
        let decomposed = Self.items[0].replacingOccurrences(of: "app: db", with: "app: de\u{301}")
        #expect(composed == decomposed && !composed.utf8.elementsEqual(decomposed.utf8))
        #expect(try Self.reusing([composed] + Self.items.dropFirst(), [decomposed] + Self.items.dropFirst(), policies: told)?
            .policies.map(\.name) != ["as-running", "b", "c"])
        let sections = try #require(LabFileSections(Self.file(composed)))
        #expect(sections.changedKeys(from: try #require(LabFileSections(Self.file(decomposed)))) == ["networkPolicies"])
        // Not as many policies as items: nothing is reused.
        #expect(try Self.reusing(Self.items, changed, policies: Array(told.dropLast())) == nil)
    }

    /// A changed item with an error, or a warning, gives nil: the whole file's parse reports it.
    @Test func aChangedItemWithAnErrorOrWarningIsLeftToTheWholeFile() throws {
        for bad in ["  - {name: a, namespace: store, podSelecter: {}}", "  - {name: ghost, namespace: store, podSelector: {matchLabels: {app: ghost}}}",
                    "  - {name: c, namespace: store}"] {
            #expect(try Self.reusing(Self.items, Self.items + [bad]) == nil, "\(bad)")
        }
    }
}
