import Testing
@testable import LabSpec

/// Damaged input of every kind must produce errors, never a crash or a hang: the loader runs
/// on whatever file a user points it at.
@Suite struct LabFileRobustnessTests {

    @Test func randomlyDamagedLabsNeverCrash() {
        var generator = SplitMix(state: 42)
        let original = Array(LabFileDecodingTests.fullLab)
        let pieces: [String] = [":", "-", "[", "]", "{", "}", ",", "\"", "'", "#", "&a", "*a", "<<: *a", "\n", "  ", "\t", "?", "!",
                                "|", ">", "%", "@", "`", "0x1", "99999999999999999999", "~", "null", "é", "\u{FEFF}", "name", "ip"]
        var outcomes = (valid: 0, invalid: 0)
        for _ in 0..<400 {
            var text = original
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<text.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: text.remove(at: index)
                case 1: text.insert(contentsOf: pieces.randomElement(using: &generator) ?? "", at: index)
                default: text.replaceSubrange(index..<min(text.count, index + 5), with: pieces.randomElement(using: &generator) ?? "")
                }
            }
            do {
                _ = try LabFileLoader.parse(String(text), file: "fuzz.yaml")
                outcomes.valid += 1
            } catch let errors as LabFileErrors {
                #expect(!errors.errors.isEmpty)
                #expect(errors.errors.allSatisfy { $0.position.line >= 1 && $0.position.column >= 1 && $0.file == "fuzz.yaml" })
                outcomes.invalid += 1
            } catch {
                Issue.record("unexpected error type \(error)")
            }
        }
        #expect(outcomes.invalid > 0)
    }

    @Test func everyErrorOfADamagedFileIsInFileOrder() {
        let text = LabFileDecodingTests.fullLab
            .replacingOccurrences(of: "node: node-1", with: "node: node-7")
            .replacingOccurrences(of: "mtu: 9000", with: "mtu: 90")
            .replacingOccurrences(of: "ip: 192.168.1.200", with: "ip: 192.168.9.200")
        let errors = Lab.errors(text)
        #expect(errors.count == 3)
        let positions = errors.map { ($0.position.line, $0.position.column) }
        #expect(zip(positions, positions.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(errors.map(\.path) == ["cluster.mtu", "pods[0].node", "hosts[0].ip"])
    }
}
