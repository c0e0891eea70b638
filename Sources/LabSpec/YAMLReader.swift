import Yams
import LabAddress

/// Reads typed values out of a composed YAML tree, one path at a time, recording where every
/// key and value was written (the `SourceMap`) and reporting every value it cannot use instead
/// of stopping. Walking the tree by hand rather than through `Codable` is what lets us keep
/// positions, refuse unknown keys and collect all problems of a file in one pass.
///
/// A value that could not be read is remembered in `failedPaths`, so the validator does not
/// pile a second, confusing error on top (an "unknown node" for a pod whose `node` was a list).
final class YAMLReader {
    var diagnostics: Diagnostics
    private let repeatedKeys: [SourcePosition: YAMLDocument.RepeatedKey]
    private(set) var failedPaths: Set<String> = []

    init(file: String, repeatedKeys: [SourcePosition: YAMLDocument.RepeatedKey] = [:]) {
        diagnostics = Diagnostics(file: file)
        self.repeatedKeys = repeatedKeys
    }

    // MARK: Reporting

    func position(of node: Node) -> SourcePosition {
        node.mark.map { SourcePosition(line: $0.line, column: $0.column) } ?? SourcePosition(line: 1, column: 1)
    }

    /// Reports that the value at `path` cannot be used, at the place it was written.
    func fail(_ path: String, _ message: String) {
        failedPaths.insert(path)
        diagnostics.error(path, message)
    }

    func fail(_ path: String, at node: Node, _ message: String) {
        failedPaths.insert(path)
        diagnostics.error(path, at: position(of: node), message)
    }

    /// Marks a path unusable without a message of its own (its parent's error explains it).
    func markFailed(_ path: String) { failedPaths.insert(path) }

    // MARK: Containers

    /// The entries of a mapping whose keys must be among `allowed`. A null value (the key
    /// written with nothing after it) reads as an empty mapping when `nullIsEmpty`, because
    /// `ping:` and `ping: {}` mean the same to a reader of the file.
    func fields(_ node: Node, at path: String, allowed: [String], nullIsEmpty: Bool = true) -> YAMLFields? {
        if nullIsEmpty, isNull(node) { return YAMLFields(path: path, node: nil) }
        guard case .mapping(let mapping) = node else {
            fail(path, at: node, "expected a mapping (keys: \(allowed.joined(separator: ", "))), found \(describe(node))")
            return nil
        }
        var kept: [YAMLFields.Entry] = []
        var suggested: Set<String> = []
        for entry in entries(of: mapping, at: path) {
            guard allowed.contains(entry.key) else {
                let suggestion = EditDistance.suggestion(for: entry.key, among: allowed)
                if let suggestion { suggested.insert(suggestion) }
                let hint = suggestion.map { "; did you mean \"\($0)\"?" } ?? " (allowed keys: \(allowed.joined(separator: ", ")))"
                failedPaths.insert(entry.path)
                diagnostics.error(entry.path, at: position(of: entry.keyNode), "unknown key \"\(entry.key)\"\(hint)")
                continue
            }
            kept.append(entry)
        }
        return YAMLFields(path: path, node: node, entries: kept, suggested: suggested)
    }

    /// A mapping with keys of the file's own choosing (labels, env, selectors).
    func freeFields(_ node: Node, at path: String, what: String) -> YAMLFields? {
        if isNull(node) { return YAMLFields(path: path, node: nil) }
        guard case .mapping(let mapping) = node else {
            fail(path, at: node, "expected a mapping of \(what), found \(describe(node))")
            return nil
        }
        return YAMLFields(path: path, node: node, entries: entries(of: mapping, at: path))
    }

    /// The entries of a mapping in file order, with `<<` merges applied (explicit keys win, as
    /// YAML 1.1 says), non-scalar and repeated keys reported and dropped, and every key and
    /// value position recorded.
    private func entries(of mapping: Node.Mapping, at path: String) -> [YAMLFields.Entry] {
        var result: [YAMLFields.Entry] = []
        var merged: [YAMLFields.Entry] = []
        var seen: [String: SourcePosition] = [:]
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                // Only this entry is lost; the rest of the mapping is still worth judging.
                diagnostics.error(path, at: position(of: keyNode), "a key must be a plain word, found \(describe(keyNode))")
                continue
            }
            if keyNode.tagName == .merge, scalar.style == .plain || scalar.style == .any {
                merged.append(contentsOf: mergeEntries(value, at: path))
                continue
            }
            let keyPosition = position(of: keyNode)
            let key = scalar.string
            let entryPath = YAMLPath.child(path, key)
            if let repeated = repeatedKeys[keyPosition] {
                let repeatedPath = YAMLPath.child(path, repeated.key)
                diagnostics.error(repeatedPath, at: keyPosition,
                                  "the key \"\(repeated.key)\" is written twice (first at line \(repeated.first.line), column \(repeated.first.column))")
                continue
            }
            if let first = seen[key] {
                diagnostics.error(entryPath, at: keyPosition,
                                  "the key \"\(key)\" is written twice (first at line \(first.line), column \(first.column))")
                continue
            }
            seen[key] = keyPosition
            diagnostics.sourceMap.recordKey(entryPath, keyPosition)
            diagnostics.sourceMap.record(entryPath, position(of: value))
            result.append(YAMLFields.Entry(key: key, keyNode: keyNode, value: value, path: entryPath))
        }
        for entry in merged where seen[entry.key] == nil {
            seen[entry.key] = position(of: entry.keyNode)
            diagnostics.sourceMap.recordKey(entry.path, position(of: entry.keyNode))
            diagnostics.sourceMap.record(entry.path, position(of: entry.value))
            result.append(entry)
        }
        return result
    }

    /// The entries a `<<: *anchor` (or `<<: [*a, *b]`) brings in; earlier sources win.
    private func mergeEntries(_ value: Node, at path: String) -> [YAMLFields.Entry] {
        let sources: [Node]
        switch value {
        case .mapping: sources = [value]
        case .sequence(let sequence): sources = Array(sequence)
        default:
            fail(YAMLPath.child(path, "<<"), at: value, "a merge key (<<) needs a mapping or a list of mappings, found \(describe(value))")
            return []
        }
        var result: [YAMLFields.Entry] = []
        for source in sources {
            guard case .mapping(let mapping) = source else {
                fail(YAMLPath.child(path, "<<"), at: source, "a merge key (<<) needs a mapping or a list of mappings, found \(describe(source))")
                continue
            }
            for (keyNode, entryValue) in mapping {
                // A repeat inside the anchored mapping was reported where it is written.
                guard case .scalar(let scalar) = keyNode, keyNode.tagName != .merge, repeatedKeys[position(of: keyNode)] == nil,
                      !result.contains(where: { $0.key == scalar.string }) else { continue }
                result.append(YAMLFields.Entry(key: scalar.string, keyNode: keyNode, value: entryValue,
                                               path: YAMLPath.child(path, scalar.string)))
            }
        }
        return result
    }

    /// The elements of a list with their paths (`pods[3]`); null reads as an empty list.
    func list(_ node: Node, at path: String, of what: String) -> [(path: String, node: Node)]? {
        if isNull(node) { return [] }
        guard case .sequence(let sequence) = node else {
            let hint = node.mapping != nil ? "; write each of the \(what) on its own line starting with \"- \"" : ""
            fail(path, at: node, "expected a list of \(what), found \(describe(node))\(hint)")
            return nil
        }
        return sequence.enumerated().map { index, element in
            let elementPath = YAMLPath.element(path, index)
            diagnostics.sourceMap.record(elementPath, position(of: element))
            return (elementPath, element)
        }
    }

    // MARK: Scalars

    /// Any scalar's text: names and free text accept `1234` or `true` as the characters written.
    func string(_ node: Node, at path: String) -> String? {
        guard case .scalar(let scalar) = node, !isNull(node) else {
            fail(path, at: node, "expected a string, found \(describe(node))")
            return nil
        }
        return scalar.string
    }

    /// A decimal integer. Hex, octal and `1:30` forms that YAML 1.1 also reads as integers are
    /// refused: in a lab file they are far more likely a typo than an intent.
    func int(_ node: Node, at path: String) -> Int? {
        guard case .scalar(let scalar) = node, node.tagName == .int || node.tagName == .str else {
            fail(path, at: node, "expected an integer, found \(describe(node))")
            return nil
        }
        let text = scalar.string
        guard node.tagName == .int else {
            let hint = isDecimal(text) ? "; remove the quotes" : ""
            fail(path, at: node, "expected an integer, found \(describe(node))\(hint)")
            return nil
        }
        guard isDecimal(text) else {
            fail(path, at: node, "write \(text) as a plain decimal number")
            return nil
        }
        guard let value = Int(text) else {
            fail(path, at: node, "\(text) is too large")
            return nil
        }
        return value
    }

    /// An integer in `range`; `what` names it in the message (`port`, `mtu`).
    func int(_ node: Node, at path: String, in range: ClosedRange<Int>, what: String) -> Int? {
        guard let value = int(node, at: path) else { return nil }
        guard range.contains(value) else {
            fail(path, at: node, "\(what) \(value) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    func bool(_ node: Node, at path: String) -> Bool? {
        guard case .scalar(let scalar) = node, node.tagName == .bool else {
            fail(path, at: node, "expected true or false, found \(describe(node))")
            return nil
        }
        return ["true", "yes", "on"].contains(scalar.string.lowercased())
    }

    /// One of an enumeration's raw values, spelled exactly.
    func choice<Choice: RawRepresentable & CaseIterable>(_ node: Node, at path: String, what: String) -> Choice?
        where Choice.RawValue == String {
        guard let text = string(node, at: path) else { return nil }
        if let value = Choice(rawValue: text) { return value }
        let names = Choice.allCases.map(\.rawValue)
        fail(path, at: node, "\"\(text)\" is not a \(what) (\(names.joined(separator: ", ")))\(EditDistance.hint(for: text, among: names))")
        return nil
    }

    func address(_ node: Node, at path: String) -> IPv4Address? {
        guard let text = string(node, at: path) else { return nil }
        if let address = IPv4Address(text) { return address }
        let hint = text.contains("/") ? "; write the address without a prefix length" : ""
        fail(path, at: node, "\"\(text)\" is not an IPv4 address\(hint)")
        return nil
    }

    func network(_ node: Node, at path: String) -> IPv4Network? {
        guard let text = string(node, at: path) else { return nil }
        if let network = IPv4Network(text) { return network }
        fail(path, at: node, CIDRText.problem(text))
        return nil
    }

    // MARK: Descriptions

    func isNull(_ node: Node) -> Bool {
        if case .scalar = node { return node.tagName == .null }
        return false
    }

    /// How a value reads in "expected X, found Y".
    func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            let text = scalar.string.count > 40 ? String(scalar.string.prefix(40)) + "…" : scalar.string
            switch node.tagName {
            case .null: return "nothing"
            case .bool: return "a boolean (\(text))"
            case .int: return "an integer (\(text))"
            case .float: return "a number (\(text))"
            default: return "a string (\"\(text)\")"
            }
        }
    }

    private func isDecimal(_ text: String) -> Bool {
        var digits = Substring(text)
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        return digits == "0" || digits.first != "0"
    }
}

extension Node {
    /// The resolved tag (`tag:yaml.org,2002:int` for `80`, `…:str` for `"80"`): how YAML
    /// typed the value. Yams keeps `Tag.name` internal, so it is rebuilt from the raw value.
    var tagName: Tag.Name { Tag.Name(rawValue: tag.rawValue) }
}
