import Yams

/// A lab file that decoded and validated without errors, with the warnings found on the way
/// (a selector that matches no pod is legal but rarely meant).
public struct LoadedLabFile: Sendable {
    public var lab: LabFile
    public var warnings: [LabFileError]

    public init(lab: LabFile, warnings: [LabFileError] = []) {
        self.lab = lab
        self.warnings = warnings
    }
}

/// The entry point of `LabSpec`: text in, a validated `LabFile` or every error out.
///
/// Stages: compose YAML (syntax) → decode (shape, types, spelling, defaults) → validate
/// (names, addresses, references between objects). Each stage reports everything it can, so
/// one run of `lab validate` shows the user all the problems of the file, in file order.
public enum LabFileLoader {
    /// The text of a lab file, read the way `load` reads it (size limit, UTF-8 checked, the OS's
    /// reason for a file that cannot be read), for callers that keep the text too.
    public static func read(path: String) throws -> String {
        switch LabFileSource.contents(ofFile: path) {
        case .success(let text): return text
        case .failure(let error): throw LabFileErrors([error])
        }
    }

    /// Reads, decodes and validates. Throws `LabFileErrors` (all errors found, file order) when
    /// any error exists. An unreadable file throws one error at 1:1 naming the OS reason.
    public static func load(path: String) throws -> LoadedLabFile {
        switch LabFileSource.contents(ofFile: path) {
        case .success(let text): return try parse(text, file: path)
        case .failure(let error): throw LabFileErrors([error])
        }
    }

    /// Same from text; `file` is the name used in messages.
    public static func parse(_ text: String, file: String) throws -> LoadedLabFile {
        let start = SourcePosition(line: 1, column: 1)
        guard text.utf8.count <= LabFileSource.maximumSize else {
            throw LabFileErrors([LabFileError(file: file, position: start, path: "",
                                              message: "the file is larger than \(LabFileSource.maximumSize >> 20) MiB; is it really a lab file?")])
        }
        let document: YAMLDocument
        switch YAMLDocument.compose(text, file: file) {
        case .success(let composed): document = composed
        case .failure(let error): throw LabFileErrors([error])
        }
        guard let root = document.root, !isNull(root) else {
            throw LabFileErrors([LabFileError(file: file, position: start, path: "", message: emptyFileMessage)])
        }

        let reader = YAMLReader(file: file, repeatedKeys: document.repeatedKeys)
        guard let decoded = LabFileDecoder(reader: reader).decode(root) else {
            throw LabFileErrors(Diagnostics.inFileOrder(reader.diagnostics.errors))
        }
        var diagnostics = reader.diagnostics
        LabFileValidator(file: decoded).validate(into: &diagnostics)
        if !diagnostics.errors.isEmpty { throw LabFileErrors(Diagnostics.inFileOrder(diagnostics.errors)) }
        return LoadedLabFile(lab: decoded.lab, warnings: Diagnostics.inFileOrder(diagnostics.warnings))
    }

    static let emptyFileMessage = "the file is empty; a minimal lab file is \"name: demo\" and \"nodes: [{name: node-1}]\" on two lines"

    private static func isNull(_ node: Node) -> Bool {
        if case .scalar = node { return node.tagName == .null }
        return false
    }
}

/// The `networkPolicies` of a lab file read from their section alone (`LabFileSections`), for
/// `lab up` of a file in which nothing else changed: what the full loader would give for them —
/// the same values, errors and warnings at the same lines and columns — without composing and
/// checking the rest of the file again.
public struct LoadedPolicies: Sendable {
    public var policies: [NetworkPolicySpec]
    public var warnings: [LabFileError]
}

extension LabFileLoader {
    /// `section`: the `networkPolicies:` section of a file whose every other section is the
    /// file `context` was taken from (it parsed without errors). The section is composed on
    /// blank lines standing for the rest of the file, so every position is the file's. Throws
    /// `LabFileErrors` as `parse` does; nil when the section does not stand alone (an alias of
    /// an anchor elsewhere, an anchor of its own another section could use, anything but the
    /// one key): the whole file must then be parsed.
    ///
    /// `context` is asked for once the section has decoded (nil: give up, return nil), so a
    /// caller may work it out meanwhile.
    ///
    /// `previous`: the same section of the file applied before, and (asked for after `context`)
    /// the policies it gave, in file order. An item of the list that is byte for byte an item
    /// of `previous` is that item's policy: only the other items are decoded (`SectionItems`;
    /// on a 100-policy file, composing and decoding every item was most of what a change of one
    /// took). Such a parse gives no errors or warnings of its own: with any, it returns nil, and
    /// the whole file's parse reports them.
    public static func parsePolicies(_ section: LabFileSections.Section, file: String,
                                     previous: (section: LabFileSections.Section, policies: () -> [NetworkPolicySpec]?)? = nil,
                                     context: () -> PolicyCheckContext?) throws -> LoadedPolicies? {
        guard section.key == "networkPolicies", !section.text.utf8.contains(UInt8(ascii: "&")),
              !section.text.utf8.contains(UInt8(ascii: "*")) else { return nil }
        // 1. The items that were in the applied file, each by the index it had there.
        var reused: [Int: Int] = [:]
        var items: SectionItems?
        var oldCount = 0
        if let previous, let new = SectionItems(section.text), let old = SectionItems(previous.section.text) {
            // By their bytes: strings compare by canonical equivalence, and two spellings of one
            // character need not be the same YAML.
            let oldIndex = Dictionary(old.items.indices.map { (Array(old.items[$0].utf8), $0) }, uniquingKeysWith: { first, _ in first })
            for (index, item) in new.items.enumerated() { reused[index] = oldIndex[Array(item.utf8)] }
            (items, oldCount) = (new, old.items.count)
        }
        let skipped = Set(reused.keys)
        let sectionText = items.map { $0.text(replacing: skipped) } ?? String(section.text)
        let text = String(repeating: "\n", count: section.line - 1) + sectionText
        guard case .success(let document) = YAMLDocument.compose(text, file: file),
              let root = document.root, case .mapping(let mapping) = root, mapping.count == 1 else { return nil }
        let reader = YAMLReader(file: file, repeatedKeys: document.repeatedKeys)
        let decoder = LabFileDecoder(reader: reader)
        guard let top = reader.fields(root, at: "", allowed: LabFileDecoder.topLevelKeys, nullIsEmpty: false),
              let node = top["networkPolicies"] else { return nil }
        // 2. With stand-ins, the parse must agree with the cut: one element per item, on the
        //    item's lines, the stand-ins empty.
        if let items, !skipped.isEmpty {
            guard case .sequence(let sequence) = node, sequence.count == items.items.count else { return nil }
            for (index, element) in sequence.enumerated() {
                let line = reader.position(of: element).line - section.line
                let next = index + 1 < items.lineOffsets.count ? items.lineOffsets[index + 1] : Int.max
                guard line >= items.lineOffsets[index], line < next else { return nil }
                if skipped.contains(index), element.mapping?.isEmpty != true { return nil }
            }
        }
        // 3. The other items decoded, the stand-ins' policies taken from the running lab, all
        //    checked together.
        let decoded = decoder.elements(node, at: "networkPolicies", of: "network policies", keys: LabFileDecoder.policyKeys,
                                       skipping: skipped, decoder.networkPolicy)
        var lab = LabFile(name: "")
        lab.sourceMap = reader.diagnostics.sourceMap
        guard let context = context() else { return nil }
        var old: [NetworkPolicySpec] = []
        if !skipped.isEmpty {
            guard let policies = previous?.policies(), policies.count == oldCount else { return nil }
            old = policies
        }
        lab.networkPolicies = decoded.indices.compactMap { reused[$0].map { old[$0] } ?? decoded[$0] }
        var diagnostics = reader.diagnostics
        LabFileValidator(file: DecodedLabFile(lab: lab, failedPaths: reader.failedPaths)).checkNetworkPolicies(context, &diagnostics)
        // A section read with stand-ins has no errors or warnings of its own: the whole file's
        // parse reports them, at their places.
        if !skipped.isEmpty, !diagnostics.errors.isEmpty || !diagnostics.warnings.isEmpty || lab.networkPolicies.count != decoded.count {
            return nil
        }
        if !diagnostics.errors.isEmpty { throw LabFileErrors(Diagnostics.inFileOrder(diagnostics.errors)) }
        return LoadedPolicies(policies: lab.networkPolicies, warnings: Diagnostics.inFileOrder(diagnostics.warnings))
    }
}
